import OutpostRPC

/// Why a control-API call did not get an answer, worded for the person at the terminal: what failed and what to do.
public struct ControlClientError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable {
        private enum Kind: Hashable, Sendable {
            case daemonNotRunning, permissionDenied, connectionClosed, protocolViolation, timedOut, io, remote, usage
        }
        private let kind: Kind

        /// No socket at the path, or nothing listening on it.
        public static let daemonNotRunning = Code(kind: .daemonNotRunning)
        /// The socket exists but this user may not connect to it.
        public static let permissionDenied = Code(kind: .permissionDenied)
        /// The daemon closed the connection before answering.
        public static let connectionClosed = Code(kind: .connectionClosed)
        /// The daemon sent something that is not a JSON-RPC response.
        public static let protocolViolation = Code(kind: .protocolViolation)
        /// No answer within the client's timeout.
        public static let timedOut = Code(kind: .timedOut)
        /// Any other socket error.
        public static let io = Code(kind: .io)
        /// The daemon answered with a JSON-RPC error; `rpcError` holds it.
        public static let remote = Code(kind: .remote)
        /// The client was told something it cannot use: a malformed URL, a missing or unsafe token file.
        public static let usage = Code(kind: .usage)
    }

    public var code: Code
    public var message: String
    public var errno: Int32?
    public var rpcError: RPCError?

    public init(code: Code, message: String, errno: Int32? = nil, rpcError: RPCError? = nil) {
        self.code = code
        self.message = message
        self.errno = errno
        self.rpcError = rpcError
    }

    public static func remote(_ error: RPCError) -> ControlClientError {
        ControlClientError(code: .remote, message: error.message, rpcError: error)
    }

    public var description: String { message }
}
