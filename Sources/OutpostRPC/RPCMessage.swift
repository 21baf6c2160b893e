/// A JSON-RPC 2.0 request id: a string, a number, or null. Responses echo it unchanged.
public enum RPCRequestID: Sendable, Hashable {
    case string(String)
    case number(Int64)
    case null

    var json: JSONValue {
        switch self {
        case .string(let text): .string(text)
        case .number(let number): .integer(number)
        case .null: .null
        }
    }
}

/// A validated JSON-RPC 2.0 request. `id == nil` makes it a notification, which gets no response.
public struct RPCRequest: Sendable, Hashable {
    public var id: RPCRequestID?
    public var method: String
    public var params: JSONValue?

    public init(id: RPCRequestID?, method: String, params: JSONValue? = nil) {
        self.id = id
        self.method = method
        self.params = params
    }

    /// Validates the envelope of a parsed JSON value.
    /// - Returns: the request, or the error to answer with and the id (if one could be read) to answer to.
    public static func validate(_ value: JSONValue) -> Result<RPCRequest, RPCFailure> {
        guard case .object(let members) = value else {
            return .failure(RPCFailure(id: .null, error: .invalidRequest("a request must be a JSON object")))
        }
        var id: RPCRequestID?
        switch members["id"] {
        case .none: id = nil
        case .some(.string(let text)): id = .string(text)
        case .some(.integer(let number)): id = .number(number)
        case .some(.null): id = .null
        case .some:
            return .failure(RPCFailure(id: .null, error: .invalidRequest("'id' must be a string, an integer or null")))
        }
        guard members["jsonrpc"] == .string("2.0") else {
            return .failure(RPCFailure(id: id ?? .null, error: .invalidRequest("'jsonrpc' must be \"2.0\"")))
        }
        guard case .string(let method) = members["method"] else {
            return .failure(RPCFailure(id: id ?? .null, error: .invalidRequest("'method' must be a string")))
        }
        let params = members["params"]
        switch params {
        case .none, .some(.object), .some(.array): break
        case .some:
            return .failure(
                RPCFailure(id: id ?? .null, error: .invalidRequest("'params' must be an object or an array"))
            )
        }
        return .success(RPCRequest(id: id, method: method, params: params))
    }

    public var json: JSONValue {
        var members: [String: JSONValue] = ["jsonrpc": "2.0", "method": .string(method)]
        if let id { members["id"] = id.json }
        if let params { members["params"] = params }
        return .object(members)
    }
}

/// An error answer to a request whose envelope could not be accepted.
public struct RPCFailure: Error, Sendable, Hashable {
    public var id: RPCRequestID
    public var error: RPCError
}

/// A JSON-RPC 2.0 response.
public struct RPCResponse: Sendable, Hashable {
    public var id: RPCRequestID
    public var outcome: Result<JSONValue, RPCError>

    public init(id: RPCRequestID, outcome: Result<JSONValue, RPCError>) {
        self.id = id
        self.outcome = outcome
    }

    public var json: JSONValue {
        switch outcome {
        case .success(let result): ["jsonrpc": "2.0", "id": id.json, "result": result]
        case .failure(let error): ["jsonrpc": "2.0", "id": id.json, "error": error.json]
        }
    }

    /// Reads a response (as a client does). Returns nil if `value` is not a response object (e.g. a notification).
    public init?(json value: JSONValue) {
        guard case .object(let members) = value, members["method"] == nil else { return nil }
        switch members["id"] {
        case .some(.string(let text)): id = .string(text)
        case .some(.integer(let number)): id = .number(number)
        default: id = .null
        }
        if let error = members["error"] {
            let code = error["code"]?.integerValue.map(Int.init) ?? RPCError.internalErrorCode
            let message = error["message"]?.stringValue ?? "unknown error"
            outcome = .failure(RPCError(code: code, message: message, data: error["data"]))
        } else {
            outcome = .success(members["result"] ?? .null)
        }
    }
}
