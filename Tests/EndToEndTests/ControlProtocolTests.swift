import OutpostClient
import OutpostRPC
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The control socket against clients that misbehave: the daemon keeps serving everyone else.
@Suite("control protocol robustness (real outpostd)", .serialized)
struct ControlProtocolTests {
    @Test("JSON-RPC errors: -32700 keeps the connection usable, -32601, -32602, -32600")
    func errorCodes() throws {
        let daemon = try Daemon()
        let client = try daemon.client()
        try client.sendRaw(Array("this is not json\n".utf8))
        #expect(try client.readMessage()["error"]?["code"] == .integer(-32700))
        #expect(try client.call("echo", ["text": "after garbage"]) == "after garbage")
        #expect(throws: ControlClientError.self) { try client.call("noSuchMethod") }
        do {
            _ = try client.call("echo", ["text": 5])
            Issue.record("a number was accepted as text")
        } catch {
            #expect(error.rpcError?.code == -32602)
        }
        try client.sendRaw(Array("{\"jsonrpc\":\"1.0\",\"id\":9,\"method\":\"echo\"}\n".utf8))
        #expect(try client.readMessage()["error"]?["code"] == .integer(-32600))
        #expect(try daemon.stop() == 0)
    }

    /// Requests that can be answered at once (echo, a small ls, a finished result) are answered on the event loop,
    /// the others by the connection's task: a client that sends several lines at once still gets its answers in the
    /// order it asked.
    @Test("pipelined requests are answered in order, whether answered at once or after a wait")
    func pipelinedRequestsAreAnsweredInOrder() throws {
        let daemon = try Daemon()
        let client = try daemon.client()
        _ = try client.call("superuser")
        var lines = ""
        for id in 1...6 {
            // A slow request, then immediate ones behind it; then immediate ones alone.
            let method = id == 2 ? #""sleep","params":{"milliseconds":300}"# : #""echo","params":{"text":"\#(id)"}"#
            lines += #"{"jsonrpc":"2.0","id":\#(id),"method":\#(method)}"# + "\n"
        }
        lines += #"{"jsonrpc":"2.0","id":7,"method":"lsAsync","params":{"path":"/tmp"}}"# + "\n"
        try client.sendRaw(Array(lines.utf8))
        var answered: [Int64] = []
        for _ in 1...7 { answered.append(try client.readMessage()["id"]?.integerValue ?? -1) }
        #expect(answered == [1, 2, 3, 4, 5, 6, 7])
        #expect(try daemon.stop() == 0)
    }

    /// Answers made on the event loop wait for the client like any other: a client that asks for large results and
    /// never reads them fills its socket, and the daemon stops reading from it instead of holding the answers. Nor
    /// does such a client hold up a stop.
    @Test("a client that never reads its answers does not grow the daemon's memory or hold up a stop")
    func aClientThatNeverReadsIsNotBufferedFor() throws {
        let directory = try TemporaryDirectory()
        let listed = directory.file("listed")
        mkdir(listed, 0o755)
        for index in 0..<100 { try writeFile(listed + "/file-\(index)", "x") }
        let daemon = try Daemon(directory: directory)
        let setup = try daemon.client()
        _ = try setup.call("superuser")
        let id = try setup.call("lsAsync", ["path": .string(listed)])["requestId"]!
        _ = try setup.call("getRequestResult", ["requestId": id])  // about 10 KB, answered at once from now on
        let baseline = daemon.process.residentKiB

        let flooder = try daemon.client(timeoutSeconds: 2)
        do {
            _ = try flooder.call("superuser")
            let request = #"{"jsonrpc":"2.0","id":1,"method":"getRequestResult","params":{"requestId":\#(id)}}"#
            let line = Array((request + "\n").utf8)
            var sent = 0
            // 20,000 requests would be 200 MB of answers; the sends stop (time out) once the daemon stops reading.
            while sent < 20_000, (try? flooder.sendRaw(line)) != nil { sent += 1 }
            usleep(500_000)
            let grown = daemon.process.residentKiB - baseline
            #expect(sent < 20_000, "the daemon kept reading: \(sent) requests sent, RSS grew by \(grown) KiB")
            #expect(grown < 32 << 10, "RSS grew by \(grown) KiB for \(sent) unread answers")
        }
        // The daemon still answers everyone else at once, and a stop does not wait for the flooder to read: its
        // connection is closed after the grace (5 s), within the 10 s `stop` allows.
        #expect(try setup.call("echo", ["text": "still here"]) == "still here")
        let stopping = ContinuousClock.now
        #expect(try daemon.stop() == 0)
        #expect(ContinuousClock.now - stopping < .seconds(8))
        withExtendedLifetime(flooder) {}
    }

    @Test("a 2 MiB line gets an error and the connection is closed; others are unaffected")
    func oversizedLine() throws {
        let daemon = try Daemon()
        let bystander = try daemon.client()
        let client = try daemon.client()
        var line = Array("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"echo\",\"params\":{\"text\":\"".utf8)
        line += [UInt8](repeating: UInt8(ascii: "a"), count: 2 << 20)
        line += Array("\"}}\n".utf8)
        // The daemon may close while we are still sending; that is the point.
        try? client.sendRaw(line)
        let answer = try client.readMessage()
        #expect(answer["error"]?["code"] == .integer(Int64(RPCError.limitExceededCode)))
        #expect(answer["error"]?["message"]?.stringValue?.contains("1048576") == true)
        #expect(throws: ControlClientError.self) { _ = try client.readLine() }
        #expect(try bystander.call("echo", ["text": "fine"]) == "fine")
        #expect(try daemon.stop() == 0)
    }

    @Test("half a line then a disconnect, and a connection that never sends a newline")
    func halfLines() throws {
        let daemon = try Daemon()
        for _ in 0..<20 {
            let client = try daemon.client()
            try client.sendRaw(Array("{\"jsonrpc\":\"2.0\",\"id\":1,\"meth".utf8))
        }
        let client = try daemon.client()
        #expect(try client.call("echo", ["text": "ok"]) == "ok")
        #expect(try daemon.stop() == 0)
    }

    @Test("200 concurrent connections are all served, and memory returns to baseline")
    func concurrentConnections() async throws {
        let daemon = try Daemon()
        // Warm up allocator pools and the thread pool first, at the same load, so the baseline is the steady state:
        // small requests are answered on the event loops now, whose allocator arenas grow to that load once.
        try await storm(daemon, connections: 200, callsEach: 10)
        usleep(500_000)
        let baseline = daemon.process.residentKiB
        for _ in 0..<3 {
            try await storm(daemon, connections: 200, callsEach: 10)
        }
        usleep(1_000_000)
        let after = daemon.process.residentKiB
        #expect(after - baseline < 4096, "RSS grew from \(baseline) KiB to \(after) KiB")
        #expect(try daemon.client().call("echo", ["text": "alive"]) == "alive")
        #expect(try daemon.stop() == 0)
    }

    private func storm(_ daemon: Daemon, connections: Int, callsEach: Int) async throws {
        let socketPath = daemon.socketPath
        // All connections open at once, then all call.
        let clients = try (0..<connections).map { _ in try ControlClient(socketPath: socketPath, timeoutSeconds: 20) }
        let boxes = clients.map { UncheckedBox($0) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, box) in boxes.enumerated() {
                group.addTask {
                    for call in 0..<callsEach {
                        let text = JSONValue.string("\(index)-\(call)")
                        guard try box.value.call("echo", ["text": text]) == text else {
                            throw TestFailure("wrong echo on connection \(index)")
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    @Test("root is admitted past max_connections (a plain user's refusal: AttackerControlSocketTests)")
    func connectionLimit() throws {
        let daemon = try Daemon(config: "[control]\nmax_connections = 2\nmax_connections_per_user = 1\n")
        let clients = try (0..<4).map { _ in try daemon.client() }
        for (index, client) in clients.enumerated() {
            #expect(try client.call("echo", ["text": .string("\(index)")]) == .string("\(index)"))
        }
        #expect(try daemon.stop() == 0)
    }

    @Test("the caller's identity comes from SO_PEERCRED")
    func peerCredentials() throws {
        let daemon = try Daemon()
        let info = try daemon.client().call("getServerInfo")
        #expect(info["userName"]?.stringValue == (UnixUserName.current))
        #expect(info["superuser"] == false)
        let client = try daemon.client()
        _ = try client.call("superuser")  // the tests run as the daemon's own user
        #expect(try client.call("getServerInfo")["superuser"] == true)
        #expect(try daemon.stop() == 0)
    }
}

/// Moves a client into a task that is its only user.
struct UncheckedBox<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

enum UnixUserName {
    static var current: String {
        guard let entry = getpwuid(geteuid()), let name = entry.pointee.pw_name else { return String(geteuid()) }
        return String(cString: name)
    }
}
