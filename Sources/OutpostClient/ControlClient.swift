import OutpostRPC

/// A blocking JSON-RPC client for outpostd's control API: over the local Unix socket, or over a node's remote
/// listener (WebSocket over TLS, signed in before the first call).
///
/// Blocking on purpose: `outpostctl` makes a call or two and exits. Not thread-safe; use one client per thread.
public final class ControlClient {
    private let transport: any ControlTransport
    private var nextID: Int64 = 1

    /// The control socket's path, or the remote node's URL.
    public var endpoint: String { transport.endpoint }

    /// Connects to the local control socket.
    /// - Parameter timeoutSeconds: how long any single read or write may block; nil blocks forever.
    public init(socketPath: String, timeoutSeconds: Double? = nil) throws(ControlClientError) {
        transport = try UnixSocketTransport(socketPath: socketPath, timeoutSeconds: timeoutSeconds)
    }

    /// Connects to a node's remote listener and signs in.
    /// - Parameters:
    ///   - tokenSession: connections signed in with the same token and session see the same requests (so that one
    ///     `outpostctl` run can poll what another submitted).
    ///   - timeoutSeconds: how long connecting, or waiting for any one answer, may take; nil waits forever.
    public init(
        remote endpoint: RemoteEndpoint,
        signIn: RemoteSignIn,
        tokenSession: String? = nil,
        timeoutSeconds: Double? = 30
    ) throws(ControlClientError) {
        transport = try WebSocketTransport(endpoint: endpoint, timeoutSeconds: timeoutSeconds)
        switch signIn {
        case .token(let token, let password):
            var params: [String: JSONValue] = ["token": .string(token)]
            if let password { params["password"] = .string(password) }
            if let tokenSession { params["tokenSession"] = .string(tokenSession) }
            _ = try authenticate(method: "authToken", .object(params))
        case .password(let userName, let password):
            _ = try authenticate(method: "auth", ["userName": .string(userName), "password": .string(password)])
        }
    }

    /// A refused sign-in is a permission problem, not a failed command: say so in the words of the remote end.
    private func authenticate(method: String, _ params: JSONValue) throws(ControlClientError) -> JSONValue {
        do throws(ControlClientError) {
            return try call(method, params)
        } catch {
            guard error.code == .remote else { throw error }
            throw ControlClientError(
                code: .permissionDenied,
                message: "\(endpoint) refused the sign-in: \(error.message)",
                rpcError: error.rpcError
            )
        }
    }

    /// Calls `method` and waits for its response.
    /// - Returns: the result.
    /// - Throws: `ControlClientError` with code `.remote` and the `RPCError` when the daemon answers with an error.
    public func call(_ method: String, _ params: JSONValue? = nil) throws(ControlClientError) -> JSONValue {
        let id = nextID
        nextID += 1
        try send(RPCRequest(id: .number(id), method: method, params: params).json)
        while true {
            let message = try readMessage()
            guard let response = RPCResponse(json: message) else { continue }  // a notification: not ours to answer
            guard response.id == .number(id) else {
                if response.id == .null, case .failure(let error) = response.outcome { throw .remote(error) }
                continue
            }
            switch response.outcome {
            case .success(let result): return result
            case .failure(let error): throw .remote(error)
            }
        }
    }

    /// Sends one JSON value as one message.
    public func send(_ value: JSONValue) throws(ControlClientError) {
        try transport.send(message: JSONCoding.serialize(value))
    }

    /// Sends bytes exactly as given (tests use it to send malformed input).
    public func sendRaw(_ bytes: [UInt8]) throws(ControlClientError) {
        try transport.sendRaw(bytes)
    }

    /// Reads the next message (response or notification) the daemon sends.
    public func readMessage() throws(ControlClientError) -> JSONValue {
        let message = try readLine()
        do {
            return try JSONCoding.parse(message)
        } catch {
            throw ControlClientError(code: .protocolViolation, message: "outpostd sent invalid JSON: \(error)")
        }
    }

    /// Reads one whole message: a line on the Unix socket (without its newline), a text message remotely.
    public func readLine() throws(ControlClientError) -> [UInt8] {
        try transport.receiveMessage()
    }
}
