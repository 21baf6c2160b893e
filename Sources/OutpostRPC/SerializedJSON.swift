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

/// A method's or request's result as it was made: a value, or JSON text written where it was computed (a listing,
/// from its entries on the thread that read them). The dispatcher splices text into the response as it is.
public enum RPCResult: Sendable {
    case value(JSONValue)
    case serialized(SerializedJSON)

    /// As a value: text is parsed back (for a batch, a direct `call`).
    public var value: JSONValue {
        switch self {
        case .value(let value): value
        case .serialized(let text): text.value
        }
    }

    /// As text: a value is serialized.
    public var serialized: SerializedJSON {
        switch self {
        case .value(let value): SerializedJSON(value)
        case .serialized(let text): text
        }
    }
}
