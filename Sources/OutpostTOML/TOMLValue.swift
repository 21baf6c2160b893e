/// A parsed TOML value together with the line it was written on, so configuration errors can point at it.
public struct TOMLNode: Sendable, Equatable {
    public var value: TOMLValue
    /// The 1-based line of the key (for a key/value pair) or of the table header that defined this node.
    public var line: Int

    public init(_ value: TOMLValue, line: Int) {
        self.value = value
        self.line = line
    }
}

/// The TOML value types (TOML 1.0). Date-times are kept as their validated source text: Outpost's configuration has
/// no date-time keys, and the text is what an error message should quote anyway.
public indirect enum TOMLValue: Sendable, Equatable {
    case string(String)
    case integer(Int64)
    case float(Double)
    case boolean(Bool)
    case dateTime(String)
    case array([TOMLNode])
    case table(TOMLTable)

    /// The name a person reads in "must be an integer, found a string".
    public var typeDescription: String {
        switch self {
        case .string: "a string"
        case .integer: "an integer"
        case .float: "a float"
        case .boolean: "a boolean"
        case .dateTime: "a date-time"
        case .array: "an array"
        case .table: "a table"
        }
    }
}

/// A TOML table: keys in the order they were written, each with its node.
public struct TOMLTable: Sendable, Equatable {
    public private(set) var keys: [String] = []
    private var nodes: [String: TOMLNode] = [:]

    public init() {}

    public subscript(key: String) -> TOMLNode? {
        nodes[key]
    }

    /// Every entry in the order it was written.
    public var entries: [(key: String, node: TOMLNode)] {
        keys.map { ($0, nodes[$0]!) }
    }

    mutating func set(_ key: String, _ node: TOMLNode) {
        if nodes.updateValue(node, forKey: key) == nil {
            keys.append(key)
        }
    }
}

/// A syntax error, with the position a person needs to find it.
public struct TOMLSyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
    public var line: Int
    public var column: Int
    public var message: String

    public var description: String { "line \(line), column \(column): \(message)" }
}
