/// TOML's number and date-time literals: decimal, hexadecimal, octal and binary integers with `_` separators,
/// floats with fraction and exponent, `inf` and `nan`, and RFC 3339 dates and times.
enum TOMLNumber {
    static func parse(_ text: String) -> TOMLValue? {
        if let integer = parseInteger(text) { return .integer(integer) }
        if let float = parseFloat(text) { return .float(float) }
        if isDateTime(text) { return .dateTime(text) }
        return nil
    }

    private static func parseInteger(_ text: String) -> Int64? {
        let bytes = Array(text.utf8)
        for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] where text.hasPrefix(prefix) {
            let digits = String(text.dropFirst(2))
            guard separatorsAreValid(Array(digits.utf8)) else { return nil }
            return Int64(digits.replacing("_", with: ""), radix: radix)
        }
        var body = bytes[...]
        if let first = body.first, first == UInt8(ascii: "+") || first == UInt8(ascii: "-") { body = body.dropFirst() }
        guard !body.isEmpty, body.allSatisfy({ $0.isDigit || $0 == UInt8(ascii: "_") }) else { return nil }
        guard separatorsAreValid(Array(body)) else { return nil }
        // Leading zeros are not allowed ("007"), but "0" is.
        if body.count > 1 && body.first == UInt8(ascii: "0") { return nil }
        return Int64(text.replacing("_", with: ""))
    }

    private static func parseFloat(_ text: String) -> Double? {
        switch text {
        case "inf", "+inf": return .infinity
        case "-inf": return -.infinity
        case "nan", "+nan", "-nan": return .nan
        default: break
        }
        var body = Array(text.utf8)[...]
        if let first = body.first, first == UInt8(ascii: "+") || first == UInt8(ascii: "-") { body = body.dropFirst() }
        // Split into integer part, optional fraction, optional exponent, each checked on its own.
        let exponentIndex = body.firstIndex { $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }
        let mantissa = exponentIndex.map { body[body.startIndex..<$0] } ?? body
        let dotIndex = mantissa.firstIndex(of: UInt8(ascii: "."))
        let integerPart = dotIndex.map { mantissa[mantissa.startIndex..<$0] } ?? mantissa
        guard isDecimalDigits(integerPart), !(integerPart.count > 1 && integerPart.first == UInt8(ascii: "0")) else {
            return nil
        }
        if let dotIndex {
            guard isDecimalDigits(mantissa[(dotIndex + 1)...]) else { return nil }
        }
        if let exponentIndex {
            var exponent = body[(exponentIndex + 1)...]
            if let sign = exponent.first, sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") {
                exponent = exponent.dropFirst()
            }
            guard isDecimalDigits(exponent) else { return nil }
        }
        guard dotIndex != nil || exponentIndex != nil else { return nil }
        return Double(text.replacing("_", with: ""))
    }

    private static func isDecimalDigits(_ bytes: ArraySlice<UInt8>) -> Bool {
        !bytes.isEmpty && bytes.allSatisfy { $0.isDigit || $0 == UInt8(ascii: "_") } && separatorsAreValid(Array(bytes))
    }

    /// An underscore must stand between two digits.
    private static func separatorsAreValid(_ bytes: [UInt8]) -> Bool {
        guard !bytes.isEmpty, bytes.first != UInt8(ascii: "_"), bytes.last != UInt8(ascii: "_") else { return false }
        for (position, byte) in bytes.enumerated() where byte == UInt8(ascii: "_") {
            if bytes[position + 1] == UInt8(ascii: "_") { return false }
        }
        return true
    }

    /// RFC 3339 shapes: `1979-05-27`, `07:32:00`, `1979-05-27T07:32:00.999-07:00`, with `T`, `t` or a space.
    private static func isDateTime(_ text: String) -> Bool {
        let shape = text.utf8.map { $0.isDigit ? UInt8(ascii: "9") : $0 }
        let pattern = String(decoding: shape, as: UTF8.self)
        let date = "9999-99-99"
        let time = "99:99:99"
        if pattern == date || pattern.hasPrefix(time) {
            return timeTailIsValid(pattern.dropFirst(pattern == date ? 10 : 8))
        }
        guard pattern.hasPrefix(date), pattern.count > 11 else { return false }
        let separator = pattern[pattern.index(pattern.startIndex, offsetBy: 10)]
        guard separator == "T" || separator == "t" || separator == " " else { return false }
        let rest = pattern.dropFirst(11)
        guard rest.hasPrefix(time) else { return false }
        return timeTailIsValid(rest.dropFirst(8), allowOffset: true)
    }

    private static func timeTailIsValid(_ tail: Substring, allowOffset: Bool = false) -> Bool {
        var tail = tail
        if tail.hasPrefix(".") {
            tail = tail.dropFirst()
            let digits = tail.prefix { $0 == "9" }
            guard !digits.isEmpty else { return false }
            tail = tail.dropFirst(digits.count)
        }
        if tail.isEmpty { return true }
        guard allowOffset else { return false }
        return tail == "Z" || tail == "z" || tail == "+99:99" || tail == "-99:99"
    }
}
