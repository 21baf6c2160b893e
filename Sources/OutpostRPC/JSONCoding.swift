/// JSON text to and from `JSONValue`.
///
/// Why a parser of our own rather than Foundation's `JSONDecoder`: the control socket parses every line any local user
/// sends, so it must bound nesting depth (a line of 500,000 `[` must be an error, not a stack overflow), keep integers
/// exact, and reject what RFC 8259 rejects, all without linking full Foundation into the daemon. The grammar is small.
public enum JSONCoding {
    /// Nesting deeper than this is refused: no API call needs more than a handful of levels.
    public static let maximumDepth = 128

    /// Parses one JSON text (surrounding whitespace allowed).
    public static func parse<Bytes: Collection<UInt8>>(_ bytes: Bytes) throws(JSONParseError) -> JSONValue {
        let outcome =
            bytes.withContiguousStorageIfAvailable(parseBuffer) ?? Array(bytes).withUnsafeBufferPointer(parseBuffer)
        return try outcome.get()
    }

    private static func parseBuffer(_ buffer: UnsafeBufferPointer<UInt8>) -> Result<JSONValue, JSONParseError> {
        var parser = JSONTextParser(buffer)
        do {
            return .success(try parser.parseDocument())
        } catch {
            return .failure(error)
        }
    }

    /// Serializes `value` compactly, object keys sorted so the same value always gives the same bytes.
    public static func serialize(_ value: JSONValue) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(64)
        write(value, to: &output)
        return output
    }

    public static func serializeToString(_ value: JSONValue) -> String {
        String(decoding: serialize(value), as: UTF8.self)
    }

    static func write(_ value: JSONValue, to output: inout [UInt8]) {
        switch value {
        case .null: output.append(contentsOf: "null".utf8)
        case .bool(let flag): output.append(contentsOf: (flag ? "true" : "false").utf8)
        case .integer(let number): writeInteger(number, to: &output)
        case .double(let number): writeDouble(number, to: &output)
        case .string(let text): writeString(text, to: &output)
        case .array(let elements):
            output.append(UInt8(ascii: "["))
            for (position, element) in elements.enumerated() {
                if position > 0 { output.append(UInt8(ascii: ",")) }
                write(element, to: &output)
            }
            output.append(UInt8(ascii: "]"))
        case .object(let members):
            output.append(UInt8(ascii: "{"))
            // Sorting the pairs, not the keys, saves a hash lookup per member.
            for (position, member) in members.sorted(by: { $0.key < $1.key }).enumerated() {
                if position > 0 { output.append(UInt8(ascii: ",")) }
                writeString(member.key, to: &output)
                output.append(UInt8(ascii: ":"))
                write(member.value, to: &output)
            }
            output.append(UInt8(ascii: "}"))
        }
    }

    /// Digits written straight into the output, backwards then reversed: no String per number.
    private static func writeInteger(_ number: Int64, to output: inout [UInt8]) {
        if number < 0 { output.append(UInt8(ascii: "-")) }
        var magnitude = number.magnitude
        let start = output.count
        repeat {
            output.append(UInt8(ascii: "0") + UInt8(magnitude % 10))
            magnitude /= 10
        } while magnitude > 0
        output[start...].reverse()
    }

    /// Whole numbers as integers (so 3.0 is written 3), the rest in Swift's shortest form that reads back exactly.
    private static func writeDouble(_ number: Double, to output: inout [UInt8]) {
        guard number.isFinite else {
            output.append(contentsOf: "null".utf8)  // JSON has no NaN or infinity.
            return
        }
        if number.rounded() == number && abs(number) < 1e15 {
            writeInteger(Int64(number), to: &output)
        } else {
            var text = number.description
            text.withUTF8 { output.append(contentsOf: $0) }
        }
    }

    private static func writeString(_ text: String, to output: inout [UInt8]) {
        output.append(UInt8(ascii: "\""))
        // Most strings (names, keys) need no escaping: copy them in one go, from their contiguous bytes.
        var text = text
        let plain = text.withUTF8 { bytes in
            guard bytes.allSatisfy({ $0 >= 0x20 && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }) else {
                return false
            }
            output.append(contentsOf: bytes)
            return true
        }
        if plain {
            output.append(UInt8(ascii: "\""))
            return
        }
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): output.append(contentsOf: "\\\"".utf8)
            case UInt8(ascii: "\\"): output.append(contentsOf: "\\\\".utf8)
            case UInt8(ascii: "\n"): output.append(contentsOf: "\\n".utf8)
            case UInt8(ascii: "\r"): output.append(contentsOf: "\\r".utf8)
            case UInt8(ascii: "\t"): output.append(contentsOf: "\\t".utf8)
            case 0..<0x20:
                let hex = String(byte, radix: 16)
                output.append(contentsOf: ("\\u00" + (byte < 16 ? "0" : "") + hex).utf8)
            default: output.append(byte)
            }
        }
        output.append(UInt8(ascii: "\""))
    }
}

extension JSONCoding {
    /// Appends `value` as compact JSON text, as `serialize` would write it: for writers that build a larger text
    /// (an object whose members they write in sorted order themselves) without a `JSONValue` around it.
    public static func append(_ value: JSONValue, to output: inout [UInt8]) {
        write(value, to: &output)
    }

    /// The same text as `append(.integer(number))`, without the enum around it.
    public static func append(integer number: Int64, to output: inout [UInt8]) {
        writeInteger(number, to: &output)
    }

    /// The same text as `append(.double(number))`.
    public static func append(double number: Double, to output: inout [UInt8]) {
        writeDouble(number, to: &output)
    }

    /// The same text as `append(.string(text))`.
    public static func append(string text: String, to output: inout [UInt8]) {
        writeString(text, to: &output)
    }

    /// Bytes of JSON syntax the caller wrote out (`{"name":`), copied as they are.
    public static func append(syntax text: StaticString, to output: inout [UInt8]) {
        output.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }
}

/// Why a JSON text was refused, with the byte offset where the parser stopped.
public struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public var offset: Int
    public var reason: String

    public var description: String { "\(reason) at byte \(offset)" }
}
