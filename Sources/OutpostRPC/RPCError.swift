/// A JSON-RPC 2.0 error object. Errors are a struct with an open set of codes (as swift-service-lifecycle's and
/// swift-subprocess's are), so new codes never break callers that switch on the known ones.
public struct RPCError: Error, Sendable, Hashable, CustomStringConvertible {
    public var code: Int
    public var message: String
    public var data: JSONValue?

    public init(code: Int, message: String, data: JSONValue? = nil) {
        self.code = code
        self.message = message
        self.data = data
    }

    public var description: String { "\(message) (code \(code))" }

    public var json: JSONValue {
        var members: [String: JSONValue] = ["code": .integer(Int64(code)), "message": .string(message)]
        if let data { members["data"] = data }
        return .object(members)
    }

    // MARK: JSON-RPC 2.0's reserved codes

    public static let parseErrorCode = -32700
    public static let invalidRequestCode = -32600
    public static let methodNotFoundCode = -32601
    public static let invalidParamsCode = -32602
    public static let internalErrorCode = -32603

    // MARK: Outpost's server-error codes (JSON-RPC reserves -32000 ... -32099 for these)

    /// The caller may not do this (not a superuser, another user's request, outside the sandbox).
    public static let permissionDeniedCode = -32001
    /// The named thing (request id, path, task, lane) does not exist.
    public static let notFoundCode = -32002
    /// A bound was reached: message size, connections, requests per user.
    public static let limitExceededCode = -32003
    /// The call is valid but not in the current state (e.g. a request that has not finished).
    public static let invalidStateCode = -32004
    /// The operation itself failed (an I/O error, a full disk); `data` carries the errno where there is one.
    public static let operationFailedCode = -32005

    /// The call needs a signed-in caller (the remote listener, before `auth` or `authToken`).
    public static let authenticationRequiredCode = -32006
    /// A sign-in was refused: wrong password, unknown, expired or revoked token, too many failures.
    public static let authenticationFailedCode = -32007

    public static func authenticationRequired(_ detail: String) -> RPCError {
        RPCError(code: authenticationRequiredCode, message: "authentication required: \(detail)")
    }

    public static func authenticationFailed(_ detail: String) -> RPCError {
        RPCError(code: authenticationFailedCode, message: "authentication failed: \(detail)")
    }

    public static func parseError(_ detail: String) -> RPCError {
        RPCError(code: parseErrorCode, message: "parse error: \(detail)")
    }

    public static func invalidRequest(_ detail: String) -> RPCError {
        RPCError(code: invalidRequestCode, message: "invalid request: \(detail)")
    }

    public static func methodNotFound(_ method: String) -> RPCError {
        RPCError(code: methodNotFoundCode, message: "method not found: '\(method)'")
    }

    public static func invalidParams(_ detail: String) -> RPCError {
        RPCError(code: invalidParamsCode, message: "invalid params: \(detail)")
    }

    public static func internalError(_ detail: String) -> RPCError {
        RPCError(code: internalErrorCode, message: "internal error: \(detail)")
    }

    public static func permissionDenied(_ detail: String) -> RPCError {
        RPCError(code: permissionDeniedCode, message: "permission denied: \(detail)")
    }

    public static func notFound(_ detail: String) -> RPCError {
        RPCError(code: notFoundCode, message: detail)
    }

    public static func limitExceeded(_ detail: String) -> RPCError {
        RPCError(code: limitExceededCode, message: detail)
    }
}
