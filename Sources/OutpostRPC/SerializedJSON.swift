/// JSON text made once, where its value was computed, and spliced into responses as it is.
///
/// Why: a listing's result is written straight from its entries to bytes on the thread that read the directory. As a
/// `JSONValue` it would be a dictionary per entry, built only to be sorted and serialized again, which was a fifth of
/// the daemon's time per small `ls` request.
public struct SerializedJSON: Sendable, Hashable {
    public let bytes: [UInt8]

    public init(_ value: JSONValue) {
        bytes = JSONCoding.serialize(value)
    }

    /// Bytes the caller made with `JSONCoding`'s writers (one JSON value, compact, keys sorted), taken as they are.
    public init(serialized bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// The value, parsed back: for callers that need a `JSONValue` (a batch, a direct `call`), not for the wire.
    public var value: JSONValue {
        (try? JSONCoding.parse(bytes)) ?? .null
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
