import OutpostRPC

/// One change to a state tree, in the Folding@home v8 form `[path0, …, pathN, value]`.
///
/// A path element is an object key or an array index. The last element says what happens: a key or index sets the
/// value there (`null` deletes: the key from its object, the element from its array); index `-1` appends the value
/// to the array; `-2` concatenates the value (an array) onto it. State trees never hold `null`, so a `null` value
/// always means "delete".
public struct StateUpdate: Sendable, Equatable, CustomStringConvertible {
    public enum PathElement: Sendable, Hashable {
        case key(String)
        case index(Int)

        public static let append = PathElement.index(-1)
        public static let concatenate = PathElement.index(-2)

        var json: JSONValue {
            switch self {
            case .key(let key): .string(key)
            case .index(let index): .integer(Int64(index))
            }
        }
    }

    public var path: [PathElement]
    public var value: JSONValue

    public init(_ path: [PathElement], _ value: JSONValue) {
        self.path = path
        self.value = value
    }

    /// The wire form: the path's elements, then the value.
    public var json: JSONValue { .array(path.map(\.json) + [value]) }

    /// Reads the wire form; nil when it is not `[key-or-index…, value]` with at least one path element.
    public init?(json: JSONValue) {
        guard let elements = json.arrayValue, elements.count >= 2 else { return nil }
        var path: [PathElement] = []
        for element in elements.dropLast() {
            switch element {
            case .string(let key): path.append(.key(key))
            case .integer(let index) where index >= -2: path.append(.index(Int(index)))
            default: return nil
            }
        }
        self.init(path, elements[elements.count - 1])
    }

    public var description: String { JSONCoding.serializeToString(json) }
}

/// Why an update could not be applied: the path does not lead where it says.
public struct StateUpdateError: Error, Sendable, Equatable, CustomStringConvertible {
    public var update: String
    public var reason: String

    public var description: String { "cannot apply \(update): \(reason)" }
}

extension JSONValue {
    /// The value reached by following object keys, or nil.
    public func value(at path: [String]) -> JSONValue? {
        var node = self
        for key in path {
            guard let child = node[key] else { return nil }
            node = child
        }
        return node
    }

    /// Applies `update` in place, with the semantics `StateUpdate` documents.
    public mutating func apply(_ update: StateUpdate) throws(StateUpdateError) {
        guard !update.path.isEmpty else {
            throw StateUpdateError(update: update.description, reason: "the path is empty")
        }
        try Self.apply(update, at: 0, to: &self)
    }

    private static func apply(_ update: StateUpdate, at depth: Int, to node: inout JSONValue) throws(StateUpdateError) {
        let element = update.path[depth]
        let isLast = depth == update.path.count - 1
        func failure(_ reason: String) -> StateUpdateError {
            StateUpdateError(update: update.description, reason: reason + " at path element \(depth)")
        }
        // The container is moved out of `node` (which holds `.null` meanwhile) and put back however this ends, so the
        // change happens in place. Not with `switch node { case .object(var members): … }`: the switch keeps a copy
        // of `node` for its whole body, and every change would copy the dictionary (measured: the whole `tasks`
        // object copied at each task update, quadratic in the number of tasks).
        if var members = node.takeObject() {
            defer { node = .object(members) }
            guard case .key(let key) = element else { throw failure("\(element) does not index an object") }
            if isLast {
                // (Not `members[key] = nil`: JSONValue is ExpressibleByNilLiteral, so that would store `.null`.)
                if update.value == .null {
                    members.removeValue(forKey: key)
                } else {
                    members[key] = update.value
                }
                return
            }
            guard var child = members.removeValue(forKey: key) else { throw failure("no key '\(key)'") }
            defer { members[key] = child }
            try apply(update, at: depth + 1, to: &child)
        } else if var elements = node.takeArray() {
            defer { node = .array(elements) }
            guard case .index(let index) = element else { throw failure("\(element) does not index an array") }
            if isLast && index == -1 {
                elements.append(update.value)
            } else if isLast && index == -2 {
                guard let tail = update.value.arrayValue else { throw failure("-2 needs an array value") }
                elements.append(contentsOf: tail)
            } else {
                guard elements.indices.contains(index) else {
                    throw failure("index \(index) is outside 0..<\(elements.count)")
                }
                if isLast {
                    if update.value == .null { elements.remove(at: index) } else { elements[index] = update.value }
                } else {
                    try apply(update, at: depth + 1, to: &elements[index])
                }
            }
        } else {
            throw failure("\(element) does not index a \(node.typeName)")
        }
    }

    /// The members of an object, moved out (this becomes `.null`), so the caller holds the only reference.
    private mutating func takeObject() -> [String: JSONValue]? {
        guard case .object(let members) = self else { return nil }
        self = .null
        return members
    }

    /// The elements of an array, moved out (this becomes `.null`).
    private mutating func takeArray() -> [JSONValue]? {
        guard case .array(let elements) = self else { return nil }
        self = .null
        return elements
    }
}
