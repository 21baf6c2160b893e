import HTTPTypes
import OutpostClient
import OutpostRPC
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The remote listener against the real daemon, on loopback with a test CA made by `openssl`: TLS only, nothing but
/// `getServerInfo` and `echo` before a sign-in, passwords and shared tokens (expired, revoked, with a password),
/// token sessions shared by two connections, the caller's sandbox, throttled guessing, and the secrets kept out of the
/// event log. Needs root (as CI runs) for the second Unix user.
@Suite("remote access over TLS WebSocket (real binaries)", .serialized)
struct RemoteAccessTests {
    static let peerPassword = "peer-password-1"

    /// A daemon with a remote listener on IPv4 and IPv6 loopback, the peer user's sandbox holding `mine`, and a
    /// remote password for the peer.
    struct Node: @unchecked Sendable {
        let certificates: TestCertificates
        let daemon: Daemon
        let port: Int
        let ipv6Port: Int
        let local: ControlClient
        /// The peer user's sandbox directory (`data:` for them).
        let peerSandbox: String
        var caFile: String { certificates.path("ca.pem") }

        init(extra: String = "") throws {
            guard geteuid() == 0 else { throw TestFailure("needs root (as CI runs): it creates a Unix user") }
            _ = try IdentityTests().ensurePeerUser()
            certificates = try TestCertificates()
            let directory = try TemporaryDirectory()
            chmod(directory.path, 0o755)
            let sandboxes = directory.file("sandboxes")
            mkdir(sandboxes, 0o755)
            mkdir(sandboxes + "/" + IdentityTests.peer, 0o755)
            mkdir(sandboxes + "/" + UnixUserName.current, 0o700)
            try writeFile(sandboxes + "/" + IdentityTests.peer + "/mine", "peer data")
            peerSandbox = sandboxes + "/" + IdentityTests.peer
            // The peer's own directory: the daemon acts as them in it, so it must be theirs.
            let (peerUID, peerGID) = try IdentityTests().ensurePeerUser()
            chown(peerSandbox, peerUID, peerGID)
            try writeFile(sandboxes + "/" + UnixUserName.current + "/private", "root data")
            port = try Coordinator.freePort()
            ipv6Port = try Coordinator.freePort()
            daemon = try Daemon(
                config: """
                    [remote]
                    listen = ["127.0.0.1:\(port)", "[::1]:\(ipv6Port)"]
                    certificate = "\(certificates.path("server.pem"))"
                    private_key = "\(certificates.path("server.key"))"
                    \(extra)
                    [sandbox]
                    "" = { data = "\(sandboxes)/%u" }
                    """,
                directory: directory
            )
            local = try daemon.client()
            _ = try local.call("superuser")
            _ = try local.call(
                "setUserPassword",
                ["userName": .string(IdentityTests.peer), "password": .string(RemoteAccessTests.peerPassword)]
            )
            let port = port
            let listening = try eventually { acceptsConnections(port: port) }
            guard listening else { throw TestFailure("no remote listener; stderr:\n\(daemon.process.standardError)") }
        }

        func token(_ params: [String: JSONValue] = [:]) throws -> (id: String, token: String) {
            var all = params
            all["userName"] = .string(IdentityTests.peer)
            let made = try local.call("createSharedToken", .object(all))
            return (made["tokenId"]!.stringValue!, made["token"]!.stringValue!)
        }
    }

    @Test("before a sign-in only getServerInfo and echo answer; wrong passwords are refused and logged without them")
    func signInWithAPassword() async throws {
        let node = try Node()
        try await RemoteConnection.with(port: node.port, caFile: node.caFile) { remote in
            #expect(try await remote.result("echo", ["text": "hi"]) == "hi")
            #expect(try await remote.result("getServerInfo")["userName"] == "")
            let early = try await remote.error("lsAsync", ["path": "data:"])
            #expect(early.code == RPCError.authenticationRequiredCode)
            #expect(early.message.contains("before 'lsAsync'"))

            let wrong = try await remote.error(
                "auth",
                ["userName": .string(IdentityTests.peer), "password": "not-the-password"]
            )
            #expect(wrong.code == RPCError.authenticationFailedCode)
            #expect(wrong.message.contains("wrong user name or password"))
            let unknown = try await remote.error("auth", ["userName": "nobody-here", "password": "whatever1"])
            #expect(unknown.message == wrong.message)

            _ = try await remote.result(
                "auth",
                ["userName": .string(IdentityTests.peer), "password": .string(RemoteAccessTests.peerPassword)]
            )
            #expect(try await remote.result("getServerInfo")["userName"] == .string(IdentityTests.peer))
            // The peer's sandbox, and nothing of root's: neither its files nor a way out of the sandbox.
            let listing = try await remote.result("lsAsync", ["path": "data:"])
            let files = try await remote.result("getRequestResult", ["requestId": listing["requestId"]!])
            #expect(files["files"]?.arrayValue?.compactMap { $0["name"]?.stringValue } == ["mine"])
            let escape = try await remote.result("lsAsync", ["path": .string("data:../\(UnixUserName.current)")])
            let refused = try await remote.error("getRequestResult", ["requestId": escape["requestId"]!])
            #expect(refused.code == RPCError.permissionDeniedCode || refused.code == RPCError.operationFailedCode)
            let superuser = try await remote.error("superuser")
            #expect(superuser.code == RPCError.permissionDeniedCode)
            return ()
        }
        // The IPv6 listener: a TLS handshake that verifies against the CA (swift-websocket cannot parse [::1] URLs).
        let handshake = try ChildProcess(
            "/usr/bin/openssl",
            [
                "s_client", "-connect", "[::1]:\(node.ipv6Port)", "-CAfile", node.caFile, "-verify_return_error",
                "-brief",
            ],
            environment: ["PATH": "/usr/bin:/bin"],
            directory: node.certificates.directory
        )
        #expect(try handshake.waitForExit(timeout: .seconds(20)) == 0)

        let events = try node.local.call("getEventLog")
        let text = JSONCoding.serializeToString(events)
        #expect(text.contains("remoteLoginFailed"))
        #expect(text.contains("remoteLogin"))
        #expect(!text.contains("not-the-password") && !text.contains(RemoteAccessTests.peerPassword))
        #expect(!node.daemon.process.standardError.contains("not-the-password"))
    }

    @Test("expired, revoked and password-protected tokens; a token session shared by two connections")
    func sharedTokens() async throws {
        let node = try Node()
        let expiring = try node.token(["expiresSeconds": 1])
        let revoked = try node.token()
        _ = try node.local.call("revokeSharedToken", ["tokenId": .string(revoked.id)])
        let guarded = try node.token(["password": "token-password"])
        let good = try node.token()
        usleep(2_100_000)

        try await RemoteConnection.with(port: node.port, caFile: node.caFile) { remote in
            let expired = try await remote.error("authToken", ["token": .string(expiring.token)])
            #expect(expired.code == RPCError.authenticationFailedCode && expired.message.contains("expired"))
            let gone = try await remote.error("authToken", ["token": .string(revoked.token)])
            #expect(gone.message.contains("revoked"))
            // The good token with its last character changed (to another one: "0" stays "0" otherwise).
            let forgedToken = String(good.token.dropLast()) + (good.token.hasSuffix("0") ? "1" : "0")
            let forged = try await remote.error("authToken", ["token": .string(forgedToken)])
            #expect(forged.message.contains("unknown token") || forged.message.contains("revoked"))
            let bare = try await remote.error("authToken", ["token": .string(guarded.token)])
            #expect(bare.message.contains("needs its password"))
            _ = try await remote.result("authToken", ["token": .string(guarded.token), "password": "token-password"])
            #expect(try await remote.result("getServerInfo")["userName"] == .string(IdentityTests.peer))
            // A token cannot make tokens.
            let minted = try await remote.error("createSharedToken")
            #expect(minted.code == RPCError.permissionDeniedCode)
            return ()
        }

        // Two connections in one token session see each other's requests; a third session does not.
        try await RemoteConnection.with(port: node.port, caFile: node.caFile) { first in
            _ = try await first.result("authToken", ["token": .string(good.token)])
            let session = try await first.result("getServerInfo")["tokenSession"]!
            let request = try await first.result("lsAsync", ["path": "data:"])["requestId"]!
            try await RemoteConnection.with(port: node.port, caFile: node.caFile) { second in
                _ = try await second.result("authToken", ["token": .string(good.token), "tokenSession": session])
                let status = try await second.result("getRequestStatus", ["requestId": request])
                #expect(status["requestId"] == request)
                return ()
            }
            try await RemoteConnection.with(port: node.port, caFile: node.caFile) { other in
                _ = try await other.result("authToken", ["token": .string(good.token)])
                let hidden = try await other.error("getRequestStatus", ["requestId": request])
                #expect(hidden.message.contains("not found"))
                return ()
            }
            return ()
        }
    }

    @Test("no TLS: the daemon refuses the configuration, and a plain or untrusting client gets nowhere")
    func tlsIsRequired() async throws {
        let directory = try TemporaryDirectory()
        let port = try Coordinator.freePort()
        let refused = try Daemon(
            config: "[remote]\nlisten = [\"127.0.0.1:\(port)\"]\n",
            directory: directory,
            waitForSocket: false
        )
        #expect(try refused.process.waitForExit(timeout: .seconds(20)) == 78)
        #expect(refused.process.standardError.contains("needs TLS"))

        let node = try Node()
        // A WebSocket upgrade in clear text gets no HTTP answer: the listener speaks only TLS.
        let answer = try exchange(
            port: node.port,
            "GET /api/websocket HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
        )
        #expect(!answer.hasPrefix("HTTP/"))
        let rogueCA = node.certificates.path("rogue-ca.pem")
        await #expect(throws: (any Error).self) {
            try await RemoteConnection.with(port: node.port, caFile: rogueCA) { _ in () }
        }
        // A browser page from an origin not listed is refused the upgrade.
        await #expect(throws: (any Error).self) {
            try await RemoteConnection.with(
                port: node.port,
                caFile: node.caFile,
                headers: [.origin: "https://evil.example"]
            ) { _ in () }
        }
        #expect(try node.local.call("echo", ["text": "still here"]) == "still here")
    }

    @Test("the state stream works over the remote listener: a snapshot, then updates")
    func stateStream() async throws {
        let node = try Node()
        _ = try node.local.call("setUserPassword", ["userName": "root", "password": "root-password-1"])
        let updates = try await RemoteConnection.with(port: node.port, caFile: node.caFile) { remote in
            _ = try await remote.result("auth", ["userName": "root", "password": "root-password-1"])
            _ = try await remote.result("superuser")
            let snapshot = try await remote.result("subscribeState")
            #expect(snapshot["info"]?["nodeId"] != nil && snapshot["lanes"] != nil)
            _ = try node.local.call("setState", ["state": "pause"])
            for _ in 0..<50 where remote.notifications.isEmpty {
                _ = try await remote.result("echo", ["text": "tick"])
                try await Task.sleep(for: .milliseconds(100))
            }
            return remote.notifications
        }
        #expect(updates.contains { $0["method"] == "stateUpdate" })
    }

    @Test("guessing is throttled per address; an oversized message closes only its own connection")
    func throttleAndOversizedMessages() async throws {
        let node = try Node(extra: "login_failures_per_minute = 3")
        try await RemoteConnection.with(port: node.port, caFile: node.caFile) { remote in
            for _ in 0..<3 {
                _ = try await remote.error(
                    "auth",
                    ["userName": .string(IdentityTests.peer), "password": "guess-guess"]
                )
            }
            let throttled = try await remote.error(
                "auth",
                ["userName": .string(IdentityTests.peer), "password": .string(RemoteAccessTests.peerPassword)]
            )
            #expect(throttled.message.contains("too many failed sign-ins from 127.0.0.1"))
            return ()
        }
        // 2 MiB in one message, past max_message_bytes (1 MiB): the connection is closed, nothing else is.
        let closed = try await RemoteConnection.with(port: node.port, caFile: node.caFile) { remote in
            let huge = String(repeating: "x", count: 2 << 20)
            do {
                _ = try await remote.call("echo", ["text": .string(huge)])
                return false
            } catch {
                return true
            }
        }
        #expect(closed)
        let info = try await RemoteConnection.with(port: node.port, caFile: node.caFile) {
            try await $0.result("echo", ["text": "fine"])
        }
        #expect(info == "fine")
        #expect(try node.local.call("echo", ["text": "local"]) == "local")
    }
}

/// A TCP connection to 127.0.0.1:`port`, or -1.
func connectTCP(port: Int) -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = UInt16(port).bigEndian
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
        }
    }
    guard connected else {
        close(fd)
        return -1
    }
    return fd
}

/// Sends `request` over plain TCP to 127.0.0.1:`port` and returns what comes back before the server closes (or
/// 5 s pass).
func exchange(port: Int, _ request: String) throws -> String {
    let fd = connectTCP(port: port)
    guard fd >= 0 else { throw TestFailure("cannot connect to port \(port)") }
    defer { close(fd) }
    var timeout = timeval(tv_sec: 5, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    let bytes = Array(request.utf8)
    _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    var received: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
        let count = recv(fd, &buffer, buffer.count, 0)
        guard count > 0 else { break }
        received += buffer[0..<count]
    }
    return String(decoding: received, as: UTF8.self)
}

/// True when something accepts TCP connections on 127.0.0.1:`port`.
func acceptsConnections(port: Int) -> Bool {
    let fd = connectTCP(port: port)
    if fd >= 0 { close(fd) }
    return fd >= 0
}
