import HTTPTypes
import HummingbirdWSClient
import Logging
import NIOSSL
import OutpostRPC
import Synchronization

/// A JSON-RPC connection to outpostd's remote listener (WebSocket over TLS), for tests: `call` sends a request and
/// returns its answer, keeping any notifications that arrive before it.
final class RemoteConnection: @unchecked Sendable {
    private var iterator: WebSocketInboundMessageStream.AsyncIterator
    let outbound: WebSocketOutboundWriter
    private var nextID: Int64 = 1
    private(set) var notifications: [JSONValue] = []

    init(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter) {
        iterator = inbound.messages(maxSize: 64 << 20).makeAsyncIterator()
        self.outbound = outbound
    }

    func call(_ method: String, _ params: JSONValue? = nil) async throws -> Result<JSONValue, RPCError> {
        let id = nextID
        nextID += 1
        var request: [String: JSONValue] = ["jsonrpc": "2.0", "id": .integer(id), "method": .string(method)]
        if let params { request["params"] = params }
        try await outbound.write(.text(JSONCoding.serializeToString(.object(request))))
        while let message = try await iterator.next() {
            guard case .text(let text) = message else { continue }
            let value = try JSONCoding.parse(Array(text.utf8))
            guard let object = value.objectValue, object["id"] != nil else {
                notifications.append(value)
                continue
            }
            if let error = object["error"]?.objectValue {
                return .failure(
                    RPCError(
                        code: Int(error["code"]?.integerValue ?? 0),
                        message: error["message"]?.stringValue ?? ""
                    )
                )
            }
            return .success(object["result"] ?? .null)
        }
        throw TestFailure("the connection closed before the answer to \(method)")
    }

    /// The result, or a test failure carrying the error.
    func result(_ method: String, _ params: JSONValue? = nil) async throws -> JSONValue {
        switch try await call(method, params) {
        case .success(let value): return value
        case .failure(let error): throw TestFailure("\(method) failed: \(error)")
        }
    }

    /// The error, or a test failure when the call succeeded.
    func error(_ method: String, _ params: JSONValue? = nil) async throws -> RPCError {
        switch try await call(method, params) {
        case .success(let value): throw TestFailure("\(method) succeeded with \(value); an error was expected")
        case .failure(let error): return error
        }
    }

    /// Connects to `wss://host:port/api/websocket` trusting `caFile`, runs `body`, and closes.
    static func with<T: Sendable>(
        host: String = "127.0.0.1",
        port: Int,
        caFile: String,
        scheme: String = "wss",
        headers: HTTPFields = [:],
        _ body: @escaping @Sendable (RemoteConnection) async throws -> T
    ) async throws -> T {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .file(caFile)
        let outcome = Mutex<Result<T, any Error>?>(nil)
        let shown = host.contains(":") ? "[\(host)]" : host
        try await WebSocketClient.connect(
            url: "\(scheme)://\(shown):\(port)/api/websocket",
            // swift-websocket sends the host as SNI, which may not be an IP address: name the certificate's
            // `localhost` instead (the test certificate carries both), and the handshake still checks the chain.
            configuration: .init(maxFrameSize: 64 << 20, additionalHeaders: headers, sniHostname: "localhost"),
            tlsConfiguration: scheme == "wss" ? tls : nil,
            logger: Logger(label: "test.remote")
        ) { inbound, outbound, _ in
            let connection = RemoteConnection(inbound: inbound, outbound: outbound)
            do {
                let value = try await body(connection)
                outcome.withLock { $0 = .success(value) }
            } catch {
                outcome.withLock { $0 = .failure(error) }
            }
        }
        guard let result = outcome.withLock({ $0 }) else {
            throw TestFailure("the WebSocket connection to \(host):\(port) was refused or closed at once")
        }
        return try result.get()
    }
}
