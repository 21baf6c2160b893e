/// Reads TOML's lexical pieces (keys, strings, numbers, arrays, inline tables) from UTF-8 bytes, tracking the line and
/// column for errors. Structural rules (which key may be defined where) belong to `DocumentBuilder`.
struct TOMLScanner {
    private let bytes: [UInt8]
    private var index = 0
    private(set) var line = 1
    private var lineStart = 0

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    func peek(_ offset: Int = 0) -> UInt8? {
        index + offset < bytes.count ? bytes[index + offset] : nil
    }

    mutating func advance(_ count: Int = 1) {
        for _ in 0..<count where index < bytes.count {
            if bytes[index] == UInt8(ascii: "\n") {
                line += 1
                lineStart = index + 1
            }
            index += 1
        }
    }

    func error(_ message: String) -> TOMLSyntaxError {
        TOMLSyntaxError(line: line, column: index - lineStart + 1, message: message)
    }

    private func starts(with text: String) -> Bool {
        let utf8 = Array(text.utf8)
        guard index + utf8.count <= bytes.count else { return false }
        return bytes[index..<index + utf8.count].elementsEqual(utf8)
    }

    mutating func expect(_ character: Character) throws(TOMLSyntaxError) {
        guard let byte = peek(), byte == character.asciiValue else {
            throw error("expected '\(character)'\(describeHere())")
        }
        advance()
    }

    private func describeHere() -> String {
        guard let byte = peek() else { return " but the file ended" }
        if byte == UInt8(ascii: "\n") { return " but the line ended" }
        if byte >= 0x20 && byte < 0x7F { return ", found '\(Character(Unicode.Scalar(byte)))'" }
        return ""
    }

    // MARK: Whitespace and comments

    mutating func skipSpaces() {
        while let byte = peek(), byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") { advance() }
    }

    private mutating func skipComment() throws(TOMLSyntaxError) {
        guard peek() == UInt8(ascii: "#") else { return }
        while let byte = peek(), byte != UInt8(ascii: "\n") {
            if byte == UInt8(ascii: "\r") && peek(1) == UInt8(ascii: "\n") { break }
            if (byte < 0x20 && byte != UInt8(ascii: "\t")) || byte == 0x7F {
                throw error("control character in comment")
            }
            advance()
        }
    }

    /// Consumes a newline (LF or CRLF); returns false if there is none here.
    private mutating func skipNewline() -> Bool {
        if peek() == UInt8(ascii: "\n") {
            advance()
            return true
        }
        if peek() == UInt8(ascii: "\r") && peek(1) == UInt8(ascii: "\n") {
            advance(2)
            return true
        }
        return false
    }

    mutating func skipWhitespaceCommentsAndNewlines() {
        while true {
            skipSpaces()
            if peek() == UInt8(ascii: "#") {
                // A bad comment is reported by expectEndOfLine on statement lines; here, skip to the end.
                while let byte = peek(), byte != UInt8(ascii: "\n") { advance() }
            }
            if !skipNewline() { return }
        }
    }

    /// After a statement: optional spaces and comment, then a newline or the end of the file.
    mutating func expectEndOfLine() throws(TOMLSyntaxError) {
        skipSpaces()
        try skipComment()
        if peek() == nil || skipNewline() { return }
        throw error("expected the end of the line\(describeHere())")
    }

    // MARK: Keys

    /// A dotted key: `a`, `a.b`, `"quoted".b`, `'literal'`.
    mutating func parseKey() throws(TOMLSyntaxError) -> [String] {
        var parts: [String] = []
        while true {
            skipSpaces()
            parts.append(try parseSimpleKey())
            skipSpaces()
            guard peek() == UInt8(ascii: ".") else { return parts }
            advance()
        }
    }

    private mutating func parseSimpleKey() throws(TOMLSyntaxError) -> String {
        switch peek() {
        case UInt8(ascii: "\""):
            return try parseBasicString()
        case UInt8(ascii: "'"):
            return try parseLiteralString()
        default:
            let start = index
            while let byte = peek(), byte.isBareKeyByte { advance() }
            guard index > start else { throw error("expected a key\(describeHere())") }
            return String(decoding: bytes[start..<index], as: UTF8.self)
        }
    }

    // MARK: Values

    mutating func parseValue(line: Int) throws(TOMLSyntaxError) -> TOMLNode {
        guard let byte = peek() else { throw error("expected a value but the file ended") }
        switch byte {
        case UInt8(ascii: "\""):
            if starts(with: "\"\"\"") { return TOMLNode(.string(try parseMultilineBasicString()), line: line) }
            return TOMLNode(.string(try parseBasicString()), line: line)
        case UInt8(ascii: "'"):
            if starts(with: "'''") { return TOMLNode(.string(try parseMultilineLiteralString()), line: line) }
            return TOMLNode(.string(try parseLiteralString()), line: line)
        case UInt8(ascii: "["):
            return TOMLNode(.array(try parseArray()), line: line)
        case UInt8(ascii: "{"):
            return TOMLNode(.table(try parseInlineTable()), line: line)
        case UInt8(ascii: "t") where starts(with: "true"):
            advance(4)
            return TOMLNode(.boolean(true), line: line)
        case UInt8(ascii: "f") where starts(with: "false"):
            advance(5)
            return TOMLNode(.boolean(false), line: line)
        default:
            return TOMLNode(try parseNumberOrDate(), line: line)
        }
    }

    private mutating func parseArray() throws(TOMLSyntaxError) -> [TOMLNode] {
        advance()
        var elements: [TOMLNode] = []
        while true {
            try skipArrayWhitespace()
            if peek() == UInt8(ascii: "]") {
                advance()
                return elements
            }
            elements.append(try parseValue(line: line))
            try skipArrayWhitespace()
            if peek() == UInt8(ascii: ",") {
                advance()
            } else if peek() == UInt8(ascii: "]") {
                advance()
                return elements
            } else {
                throw error("expected ',' or ']' in array\(describeHere())")
            }
        }
    }

    private mutating func skipArrayWhitespace() throws(TOMLSyntaxError) {
        while true {
            skipSpaces()
            try skipComment()
            if !skipNewline() { return }
        }
    }

    private mutating func parseInlineTable() throws(TOMLSyntaxError) -> TOMLTable {
        let openingLine = line
        advance()
        var builder = DocumentBuilder(scanner: TOMLScanner([]))
        skipSpaces()
        if peek() == UInt8(ascii: "}") {
            advance()
            return TOMLTable()
        }
        while true {
            let key = try parseKey()
            try expect("=")
            skipSpaces()
            let value = try parseValue(line: openingLine)
            try builder.defineInline(key, value: value, line: openingLine)
            skipSpaces()
            if peek() == UInt8(ascii: ",") {
                advance()
                skipSpaces()
                continue
            }
            if peek() == UInt8(ascii: "}") {
                advance()
                return builder.root
            }
            throw error("expected ',' or '}' in inline table\(describeHere())")
        }
    }

    // MARK: Strings

    private mutating func parseBasicString() throws(TOMLSyntaxError) -> String {
        advance()
        var scalars = String.UnicodeScalarView()
        var pending: [UInt8] = []
        while true {
            guard let byte = peek() else { throw error("unterminated string") }
            switch byte {
            case UInt8(ascii: "\""):
                advance()
                try flush(&pending, into: &scalars)
                return String(scalars)
            case UInt8(ascii: "\\"):
                try flush(&pending, into: &scalars)
                advance()
                scalars.append(try parseEscape())
            case UInt8(ascii: "\n"), UInt8(ascii: "\r"):
                throw error("newline in a single-line string (use \"\"\" for multi-line strings)")
            default:
                if (byte < 0x20 && byte != UInt8(ascii: "\t")) || byte == 0x7F {
                    throw error("control character in string")
                }
                pending.append(byte)
                advance()
            }
        }
    }

    private mutating func parseMultilineBasicString() throws(TOMLSyntaxError) -> String {
        advance(3)
        _ = skipNewline()
        var scalars = String.UnicodeScalarView()
        var pending: [UInt8] = []
        while true {
            guard let byte = peek() else { throw error("unterminated multi-line string") }
            if starts(with: "\"\"\"") {
                // Up to two quotes may stand right before the closing delimiter.
                var extra = 0
                while extra < 2 && peek(3 + extra) == UInt8(ascii: "\"") { extra += 1 }
                pending.append(contentsOf: repeatElement(UInt8(ascii: "\""), count: extra))
                advance(3 + extra)
                try flush(&pending, into: &scalars)
                return String(scalars)
            }
            if byte == UInt8(ascii: "\\") {
                try flush(&pending, into: &scalars)
                advance()
                if try skipLineEndingBackslash() { continue }
                scalars.append(try parseEscape())
                continue
            }
            if (byte < 0x20 && byte != UInt8(ascii: "\t") && byte != UInt8(ascii: "\n") && byte != UInt8(ascii: "\r"))
                || byte == 0x7F
            {
                throw error("control character in string")
            }
            pending.append(byte)
            advance()
        }
    }

    /// A backslash at the end of a line trims it and all whitespace and newlines that follow.
    private mutating func skipLineEndingBackslash() throws(TOMLSyntaxError) -> Bool {
        var probe = self
        probe.skipSpaces()
        guard probe.skipNewline() else { return false }
        self = probe
        while true {
            skipSpaces()
            if !skipNewline() { return true }
        }
    }

    private mutating func parseLiteralString() throws(TOMLSyntaxError) -> String {
        advance()
        let start = index
        while true {
            guard let byte = peek() else { throw error("unterminated literal string") }
            if byte == UInt8(ascii: "'") { break }
            if byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") {
                throw error("newline in a single-line string")
            }
            if (byte < 0x20 && byte != UInt8(ascii: "\t")) || byte == 0x7F {
                throw error("control character in string")
            }
            advance()
        }
        let text = try decodeUTF8(bytes[start..<index])
        advance()
        return text
    }

    private mutating func parseMultilineLiteralString() throws(TOMLSyntaxError) -> String {
        advance(3)
        _ = skipNewline()
        let start = index
        while !starts(with: "'''") {
            guard let byte = peek() else { throw error("unterminated multi-line literal string") }
            if (byte < 0x20 && byte != UInt8(ascii: "\t") && byte != UInt8(ascii: "\n") && byte != UInt8(ascii: "\r"))
                || byte == 0x7F
            {
                throw error("control character in string")
            }
            advance()
        }
        var end = index
        var extra = 0
        while extra < 2 && peek(3 + extra) == UInt8(ascii: "'") { extra += 1 }
        end += extra
        let text = try decodeUTF8(bytes[start..<end])
        advance(3 + extra)
        return text
    }

    private mutating func parseEscape() throws(TOMLSyntaxError) -> Unicode.Scalar {
        guard let byte = peek() else { throw error("unterminated escape") }
        advance()
        switch byte {
        case UInt8(ascii: "b"): return "\u{08}"
        case UInt8(ascii: "t"): return "\t"
        case UInt8(ascii: "n"): return "\n"
        case UInt8(ascii: "f"): return "\u{0C}"
        case UInt8(ascii: "r"): return "\r"
        case UInt8(ascii: "e"): return "\u{1B}"
        case UInt8(ascii: "\""): return "\""
        case UInt8(ascii: "\\"): return "\\"
        case UInt8(ascii: "u"): return try parseUnicodeEscape(digits: 4)
        case UInt8(ascii: "U"): return try parseUnicodeEscape(digits: 8)
        default: throw error("invalid escape '\\\(Character(Unicode.Scalar(byte)))'")
        }
    }

    private mutating func parseUnicodeEscape(digits: Int) throws(TOMLSyntaxError) -> Unicode.Scalar {
        var value: UInt32 = 0
        for _ in 0..<digits {
            guard let byte = peek(), let digit = byte.hexDigitValue else { throw error("invalid unicode escape") }
            value = value * 16 + UInt32(digit)
            advance()
        }
        guard let scalar = Unicode.Scalar(value) else { throw error("unicode escape is not a scalar value") }
        return scalar
    }

    private func flush(_ pending: inout [UInt8], into scalars: inout String.UnicodeScalarView) throws(TOMLSyntaxError) {
        guard !pending.isEmpty else { return }
        scalars.append(contentsOf: try decodeUTF8(pending[...]).unicodeScalars)
        pending.removeAll(keepingCapacity: true)
    }

    private func decodeUTF8(_ slice: ArraySlice<UInt8>) throws(TOMLSyntaxError) -> String {
        guard let text = String(validating: slice, as: UTF8.self) else { throw error("invalid UTF-8") }
        return text
    }

    // MARK: Numbers and date-times

    private mutating func parseNumberOrDate() throws(TOMLSyntaxError) -> TOMLValue {
        let start = index
        while let byte = peek(), byte.isValueByte { advance() }
        // A local or offset date-time may hold one space between date and time.
        if peek() == UInt8(ascii: " "), let next = peek(1), next.isDigit, bytes[start..<index].isDateShaped {
            advance()
            while let byte = peek(), byte.isValueByte { advance() }
        }
        let text = String(decoding: bytes[start..<index], as: UTF8.self)
        guard !text.isEmpty else { throw error("expected a value\(describeHere())") }
        if let value = TOMLNumber.parse(text) { return value }
        throw TOMLSyntaxError(line: line, column: start - lineStart + 1, message: "invalid value '\(text)'")
    }
}

extension DocumentBuilder {
    /// Inline tables follow the same key rules as documents, relative to their own root.
    mutating func defineInline(_ key: [String], value: TOMLNode, line: Int) throws(TOMLSyntaxError) {
        currentPath = []
        try defineKey(key, value: value, line: line)
    }
}

extension UInt8 {
    var isDigit: Bool { self >= UInt8(ascii: "0") && self <= UInt8(ascii: "9") }

    var isBareKeyByte: Bool {
        isDigit || (self >= UInt8(ascii: "a") && self <= UInt8(ascii: "z"))
            || (self >= UInt8(ascii: "A") && self <= UInt8(ascii: "Z")) || self == UInt8(ascii: "_")
            || self == UInt8(ascii: "-")
    }

    /// Bytes that may appear in a number, boolean-free literal or date-time.
    var isValueByte: Bool {
        isBareKeyByte || self == UInt8(ascii: "+") || self == UInt8(ascii: ".") || self == UInt8(ascii: ":")
    }

    var hexDigitValue: Int? {
        switch self {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): Int(self - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): Int(self - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): Int(self - UInt8(ascii: "A") + 10)
        default: nil
        }
    }
}

extension ArraySlice where Element == UInt8 {
    /// `YYYY-MM-DD`, the only thing a space may follow inside a value.
    var isDateShaped: Bool {
        count == 10 && self[startIndex + 4] == UInt8(ascii: "-") && self[startIndex + 7] == UInt8(ascii: "-")
    }
}
