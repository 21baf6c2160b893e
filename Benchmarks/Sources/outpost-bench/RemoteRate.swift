import Foundation
import HummingbirdWSClient
import Logging
import NIOSSL
import OutpostRPC

/// `lsAsync` + `getRequestResult` round trips per second over the remote listener: `connections` WebSocket
/// connections over TLS, each signed in with `auth` and making one call at a time for `seconds`, as remote apps
/// polling a node do. The same measure as `list-rps` on the Unix socket.
func remoteListRate(
    port: Int,
    caFile: String,
    user: String,
    password: String,
    path: String,
    connections: Int,
    seconds: Double
) async throws -> Double {
    var tls = TLSConfiguration.makeClientConfiguration()
    tls.trustRoots = .file(caFile)
    tls.certificateVerification = .noHostnameVerification
    let tlsConfiguration = tls
    let deadline = Date().addingTimeInterval(seconds)
    let start = Date()
    let total = try await withThrowingTaskGroup(of: Int.self) { group in
        for _ in 0..<connections {
            group.addTask {
                let done = LockedCount()
                try await WebSocketClient.connect(
                    url: "wss://127.0.0.1:\(port)/api/websocket",
                    configuration: .init(maxFrameSize: 16 << 20, sniHostname: "localhost"),
                    tlsConfiguration: tlsConfiguration,
                    logger: Logger(label: "bench")
                ) { inbound, outbound, _ in
                    var messages = inbound.messages(maxSize: 16 << 20).makeAsyncIterator()
                    var id: Int64 = 0
                    func call(_ method: String, _ params: JSONValue) async throws -> JSONValue {
                        id += 1
                        let request: JSONValue = [
                            "jsonrpc": "2.0", "id": .integer(id), "method": .string(method), "params": params,
                        ]
                        try await outbound.write(.text(JSONCoding.serializeToString(request)))
                        guard case .text(let text) = try await messages.next() else { throw BenchError("closed") }
                        let answer = try JSONCoding.parse(Array(text.utf8))
                        guard let result = answer["result"] else { throw BenchError("\(method): \(answer)") }
                        return result
                    }
                    _ = try await call("auth", ["userName": .string(user), "password": .string(password)])
                    while Date() < deadline {
                        let submitted = try await call("lsAsync", ["path": .string(path)])
                        let listing = try await call("getRequestResult", ["requestId": submitted["requestId"] ?? .null])
                        guard listing["files"]?.arrayValue?.isEmpty == false else { throw BenchError("empty listing") }
                        done.add()
                    }
                }
                return done.value
            }
        }
        return try await group.reduce(0, +)
    }
    return Double(total) / Date().timeIntervalSince(start)
}

final class LockedCount: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func add() { lock.withLock { count += 1 } }
    var value: Int { lock.withLock { count } }
}
