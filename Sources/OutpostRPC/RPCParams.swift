/// A request's named parameters, read with the checks JSON-RPC's -32602 "invalid params" is for: a missing required
/// parameter, a wrong type, or a name the method does not take (a typo must not be silently ignored).
public struct RPCParams: Sendable {
    public let method: String
    private let members: [String: JSONValue]

    /// - Parameter allowed: every parameter name the method takes.
    public init(method: String, params: JSONValue?, allowed: Set<String>) throws(RPCError) {
        self.method = method
        switch params {
        case .none, .some(.null):
            members = [:]
        case .some(.object(let object)):
            members = object
        case .some(.array(let array)) where array.isEmpty:
            members = [:]
        case .some(.array):
            throw .invalidParams("\(method) takes named parameters (a JSON object), not positional ones")
        case .some(let other):
            throw .invalidParams("params must be an object, found \(other.typeName)")
        }
        let unknown = members.keys.filter { !allowed.contains($0) }.sorted()
        if !unknown.isEmpty {
            let expected = allowed.isEmpty ? "no parameters" : allowed.sorted().joined(separator: ", ")
            throw .invalidParams("\(method) has no parameter '\(unknown[0])' (it takes \(expected))")
        }
    }

    public func raw(_ name: String) -> JSONValue? {
        members[name]
    }

    public func optionalString(_ name: String) throws(RPCError) -> String? {
        switch members[name] {
        case .none, .some(.null): return nil
        case .some(.string(let text)): return text
        case .some(let other): throw mismatch(name, expected: "a string", found: other)
        }
    }

    public func string(_ name: String) throws(RPCError) -> String {
        guard let text = try optionalString(name) else { throw missing(name) }
        return text
    }

    public func optionalBool(_ name: String) throws(RPCError) -> Bool? {
        switch members[name] {
        case .none, .some(.null): return nil
        case .some(.bool(let flag)): return flag
        case .some(let other): throw mismatch(name, expected: "a boolean", found: other)
        }
    }

    /// An integer parameter, optionally restricted to `range`.
    public func optionalInteger(_ name: String, in range: ClosedRange<Int64>? = nil) throws(RPCError) -> Int64? {
        switch members[name] {
        case .none, .some(.null): return nil
        case .some(let value):
            guard let number = value.integerValue else { throw mismatch(name, expected: "an integer", found: value) }
            if let range, !range.contains(number) {
                throw .invalidParams(
                    "\(method): '\(name)' must be between \(range.lowerBound) and \(range.upperBound), got \(number)"
                )
            }
            return number
        }
    }

    public func integer(_ name: String, in range: ClosedRange<Int64>? = nil) throws(RPCError) -> Int64 {
        guard let number = try optionalInteger(name, in: range) else { throw missing(name) }
        return number
    }

    /// A number parameter (integer or fractional), optionally restricted to `range`; NaN and infinity cannot occur in
    /// JSON.
    public func optionalDouble(_ name: String, in range: ClosedRange<Double>? = nil) throws(RPCError) -> Double? {
        let number: Double
        switch members[name] {
        case .none, .some(.null): return nil
        case .some(.integer(let value)): number = Double(value)
        case .some(.double(let value)): number = value
        case .some(let other): throw mismatch(name, expected: "a number", found: other)
        }
        if let range, !range.contains(number) {
            throw .invalidParams(
                "\(method): '\(name)' must be between \(range.lowerBound) and \(range.upperBound), got \(number)"
            )
        }
        return number
    }

    public func optionalObject(_ name: String) throws(RPCError) -> [String: JSONValue]? {
        switch members[name] {
        case .none, .some(.null): return nil
        case .some(.object(let object)): return object
        case .some(let other): throw mismatch(name, expected: "an object", found: other)
        }
    }

    public func optionalArray(_ name: String) throws(RPCError) -> [JSONValue]? {
        switch members[name] {
        case .none, .some(.null): return nil
        case .some(.array(let array)): return array
        case .some(let other): throw mismatch(name, expected: "an array", found: other)
        }
    }

    private func missing(_ name: String) -> RPCError {
        .invalidParams("\(method) needs the parameter '\(name)'")
    }

    private func mismatch(_ name: String, expected: String, found: JSONValue) -> RPCError {
        .invalidParams("\(method): '\(name)' must be \(expected), found \(found.typeName)")
    }
}
