import HummingbirdWSClient
import NIOCore
import NIOWebSocket
import OutpostClient
import OutpostRPC
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `GET` and `PUT /v1/files/…` on the remote listener, driven by curl over TLS with the test CA: interrupted
/// downloads and uploads resumed to identical files, a wrong checksum that never replaces the target, a full disk that
/// leaves the target as it was, the sandbox and authentication enforced, and 100 transfers at once.
@Suite("remote file transfers over HTTPS (real binaries, curl)", .serialized)
struct RemoteFileTransferTests {
    typealias Node = RemoteAccessTests.Node

    /// Runs curl against the node; returns its status line code and what it wrote to stdout.
    func curl(_ node: Node, _ arguments: [String], token: String?) throws -> (code: Int, output: String) {
        var all = ["-sS", "--cacert", node.caFile, "-w", "\n%{http_code}"]
        if let token { all += ["-H", "Authorization: Bearer \(token)"] }
        let child = try ChildProcess(
            "/usr/bin/curl",
            all + arguments,
            environment: ["PATH": "/usr/bin:/bin"],
            directory: node.certificates.directory
        )
        _ = try child.waitForExit(timeout: .seconds(120))
        let lines = child.standardOutput.split(separator: "\n", omittingEmptySubsequences: false)
        return (Int(lines.last ?? "") ?? 0, lines.dropLast().joined(separator: "\n"))
    }

    func url(_ node: Node, _ path: String) -> String { "https://127.0.0.1:\(node.port)/v1/files/\(path)" }

    func randomFile(_ path: String, bytes: Int) throws -> [UInt8] {
        var data = [UInt8](repeating: 0, count: bytes)
        for index in data.indices { data[index] = UInt8.random(in: 0...255) }
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        defer { close(fd) }
        _ = data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        return data
    }

    func contents(_ path: String) throws -> [UInt8] { Array(try readFile(path).utf8) }

    func bytes(of path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = read(fd, &buffer, buffer.count)
            guard count > 0 else { break }
            result += buffer[0..<count]
        }
        return result
    }

    @Test("a download resumed with Range and an upload resumed with Content-Range give byte-identical files")
    func resumedTransfers() throws {
        let node = try Node()
        let token = try node.token().token
        let source = try randomFile(node.peerSandbox + "/big.bin", bytes: 3 << 20)
        let scratch = node.certificates.directory

        // Download: the first MiB (as an interrupted transfer leaves it), then the rest with curl's resume.
        let part = scratch.file("download.bin")
        #expect(try curl(node, ["-r", "0-1048575", "-o", part, url(node, "data:big.bin")], token: token).code == 206)
        #expect(bytes(of: part)?.count == 1 << 20)
        #expect(try curl(node, ["-C", "-", "-o", part, url(node, "data:big.bin")], token: token).code == 206)
        #expect(bytes(of: part) == source)
        // If-Range with a stale ETag gets the whole file, not a mixed one.
        let whole = try curl(
            node,
            ["-H", "If-Range: \"stale\"", "-r", "5-9", "-o", "/dev/null", url(node, "data:big.bin")],
            token: token
        )
        #expect(whole.code == 200)
        #expect(
            try curl(node, ["-r", "9999999-", "-o", "/dev/null", url(node, "data:big.bin")], token: token).code == 416
        )

        // Upload: two halves, a question in between, renamed into place only at the end.
        let firstHalf = scratch.file("first.bin")
        let secondHalf = scratch.file("second.bin")
        let half = source.count / 2
        try Array(source[..<half]).withUnsafeBytes { try writeBytes(firstHalf, $0) }
        try Array(source[half...]).withUnsafeBytes { try writeBytes(secondHalf, $0) }
        let total = source.count
        let first = try curl(
            node,
            [
                "-X", "PUT", "--data-binary", "@\(firstHalf)", "-H", "Content-Range: bytes 0-\(half - 1)/\(total)",
                url(node, "data:up/copy.bin"),
            ],
            token: token
        )
        #expect(first.code == 404)  // the directory does not exist: nothing is created outside a known directory
        mkdir(node.peerSandbox + "/up", 0o755)
        let peer = try IdentityTests().ensurePeerUser()
        chown(node.peerSandbox + "/up", peer.uid, peer.gid)
        #expect(
            try curl(
                node,
                [
                    "-X", "PUT", "--data-binary", "@\(firstHalf)", "-H", "Content-Range: bytes 0-\(half - 1)/\(total)",
                    url(node, "data:up/copy.bin"),
                ],
                token: token
            ).code == 202
        )
        #expect(!fileExists(node.peerSandbox + "/up/copy.bin"))
        let question = try curl(
            node,
            [
                "-X", "PUT", "-H", "Content-Range: bytes */\(total)", "-D", "-", "-o", "/dev/null",
                url(node, "data:up/copy.bin"),
            ],
            token: token
        )
        #expect(question.code == 202 && question.output.lowercased().contains("range: bytes=0-\(half - 1)"))
        let done = try curl(
            node,
            [
                "-X", "PUT", "--data-binary", "@\(secondHalf)",
                "-H", "Content-Range: bytes \(half)-\(total - 1)/\(total)", url(node, "data:up/copy.bin"),
            ],
            token: token
        )
        #expect(done.code == 201)
        #expect(bytes(of: node.peerSandbox + "/up/copy.bin") == source)
        #expect(!fileExists(node.peerSandbox + "/up/.copy.bin.outpost-partial"))
        var status = stat()
        stat(node.peerSandbox + "/up/copy.bin", &status)
        #expect(status.st_uid == getpwnam(IdentityTests.peer).pointee.pw_uid)
    }

    @Test("a wrong checksum never replaces the target; the sandbox and the credentials are enforced")
    func checksumsSandboxAndAuthentication() throws {
        let node = try Node()
        let token = try node.token().token
        try writeFile(node.peerSandbox + "/target.txt", "old contents\n")
        let body = node.certificates.directory.file("new.txt")
        try writeFile(body, "new contents\n")
        // sha-256 of "something else", base64.
        let wrong = try curl(
            node,
            [
                "-X", "PUT", "--data-binary", "@\(body)", "-H",
                "Digest: sha-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", url(node, "data:target.txt"),
            ],
            token: token
        )
        #expect(wrong.code == 400 && wrong.output.contains("the Digest header says"), "\(wrong.output)")
        #expect(try readFile(node.peerSandbox + "/target.txt") == "old contents\n")
        #expect(!fileExists(node.peerSandbox + "/.target.txt.outpost-partial"))
        // The right one: sha-256 of "new contents\n".
        let digest = try curl(
            node,
            [
                "-X", "PUT", "--data-binary", "@\(body)", "-H",
                "Digest: sha-256=\(try sha256Base64(body, in: node.certificates.directory))",
                url(node, "data:target.txt"),
            ],
            token: token
        )
        #expect(digest.code == 201, "\(digest.output)")
        #expect(try readFile(node.peerSandbox + "/target.txt") == "new contents\n")

        #expect(try curl(node, ["-o", "/dev/null", url(node, "data:target.txt")], token: nil).code == 401)
        #expect(
            try curl(node, ["-o", "/dev/null", url(node, "data:target.txt")], token: "0000000000000000.x").code == 401
        )
        let escape = try curl(
            node,
            ["-o", "/dev/null", url(node, "data:..%2F\(UnixUserName.current)%2Fprivate")],
            token: token
        )
        #expect(escape.code == 403 || escape.code == 404)
        #expect(try curl(node, ["-o", "/dev/null", url(node, "other:anything")], token: token).code == 404)
        let basic = try curl(
            node,
            [
                "-u", "\(IdentityTests.peer):\(RemoteAccessTests.peerPassword)", "-o", "/dev/null",
                url(node, "data:mine"),
            ],
            token: nil
        )
        #expect(basic.code == 200)
    }

    @Test(.enabled(if: geteuid() == 0, "mounting a tmpfs needs root"))
    func aFullDiskFailsTheUploadAndLeavesTheTargetAsItWas() throws {
        let node = try Node()
        let token = try node.token().token
        let small = node.certificates.directory.file("small")
        mkdir(small, 0o755)
        chmod(node.certificates.directory.path, 0o755)  // the peer must reach its root
        let mounted = try FullDiskTests.run(
            ["/bin/mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", small],
            in: node.certificates.directory
        )
        try #require(mounted == 0, "cannot mount a tmpfs")
        defer { _ = try? FullDiskTests.run(["/bin/umount", "-l", small], in: node.certificates.directory) }
        try writeFile(small + "/target.bin", "kept\n")
        let peer = try IdentityTests().ensurePeerUser()
        chown(small, peer.uid, peer.gid)
        _ = try node.local.call(
            "setSandboxMapping",
            ["userName": .string(IdentityTests.peer), "sandboxRoots": ["small": .string(small)]]
        )
        let big = node.certificates.directory.file("big.bin")
        _ = try randomFile(big, bytes: 3 << 20)
        let full = try curl(
            node,
            ["-X", "PUT", "--data-binary", "@\(big)", url(node, "small:target.bin")],
            token: token
        )
        #expect(full.code == 507 && full.output.contains("no space left"), "\(full)")
        #expect(try readFile(small + "/target.bin") == "kept\n")
        #expect(try node.local.call("echo", ["text": "alive"]) == "alive")

        // outpostctl says so too, and the target is still as it was.
        let remote = RemoteOutpostctlTests()
        let put = try remote.run(node, ["put", big, "small:target.bin"], tokenFile: try remote.tokenFile(node))
        #expect(put.status == 1 && put.stderr.contains("HTTP 507"), "\(put.stderr)")
        #expect(try readFile(small + "/target.bin") == "kept\n")
    }

    @Test("failed HTTP sign-ins are throttled per address like WebSocket ones, and logged")
    func httpSignInsAreThrottled() throws {
        let node = try Node(extra: "login_failures_per_minute = 2")
        for _ in 0..<2 {
            #expect(try curl(node, [url(node, "data:mine")], token: "0123.not-a-token").code == 401)
        }
        let throttled = try curl(node, ["-D", "-", url(node, "data:mine")], token: try node.token().token)
        #expect(throttled.code == 429 && throttled.output.lowercased().contains("retry-after"), "\(throttled.output)")
        let log = try node.local.call("getEventLog", ["eventName": "remoteLoginThrottled"])
        #expect(log["eventLog"]?.arrayValue?.count == 1)
        let failed = try node.local.call("getEventLog", ["eventName": "remoteLoginFailed"])
        #expect(failed["eventLog"]?.arrayValue?.first?["path"] == "/v1/files/data:mine")
    }

    @Test("100 downloads at once all arrive intact")
    func hundredConcurrentTransfers() throws {
        let node = try Node()
        let token = try node.token().token
        let source = try randomFile(node.peerSandbox + "/shared.bin", bytes: 256 << 10)
        let out = node.certificates.directory.file("many")
        mkdir(out, 0o755)
        var arguments = ["--parallel", "--parallel-immediate", "--parallel-max", "100"]
        for index in 0..<100 { arguments += ["-o", "\(out)/\(index).bin", url(node, "data:shared.bin")] }
        let result = try curl(node, arguments, token: token)
        #expect(result.code == 200)
        for index in 0..<100 { #expect(bytes(of: "\(out)/\(index).bin") == source, "copy \(index)") }
    }

    func sha256Base64(_ path: String, in directory: TemporaryDirectory) throws -> String {
        let child = try ChildProcess(
            "/bin/sh",
            ["-c", "openssl dgst -sha256 -binary '\(path)' | base64"],
            environment: ["PATH": "/usr/bin:/bin"],
            directory: directory
        )
        _ = try child.waitForExit(timeout: .seconds(20))
        return String(child.standardOutput.filter { !$0.isWhitespace })
    }
}

func writeBytes(_ path: String, _ bytes: UnsafeRawBufferPointer) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    guard fd >= 0 else { throw TestFailure("cannot write \(path)") }
    defer { close(fd) }
    guard write(fd, bytes.baseAddress, bytes.count) == bytes.count else { throw TestFailure("short write to \(path)") }
}

/// The remote listener under load it should shrug off, and its downloads under the node's bandwidth limit.
@Suite("remote listener: limits and hostile clients (real binaries)", .serialized)
struct RemoteListenerRobustnessTests {
    typealias Node = RemoteAccessTests.Node

    /// Seconds since an arbitrary start, for timing whole transfers.
    func monotonicSeconds() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }

    @Test("a 10 Mbit/s outgoing limit holds within 5% over 30 s, for 1 and for 8 concurrent downloads")
    func outgoingLimit() throws {
        let node = try Node()
        let token = try node.token().token
        _ = try node.local.call("updateBandwidthLimits", ["outgoingLimitActive": true, "outgoingRateLimit": 10_000])
        let seconds = 30.0
        let bytes = Int(10_000 * 125 * seconds)  // 10 Mbit/s for 30 s
        let transfers = RemoteFileTransferTests()
        _ = try transfers.randomFile(node.peerSandbox + "/one.bin", bytes: bytes)
        _ = try transfers.randomFile(node.peerSandbox + "/eighth.bin", bytes: bytes / 8)
        for (file, count) in [("one.bin", 1), ("eighth.bin", 8)] {
            var arguments = ["--parallel", "--parallel-immediate", "--parallel-max", "8"]
            for _ in 0..<count { arguments += ["-o", "/dev/null", transfers.url(node, "data:\(file)")] }
            // One line per transfer (this -w replaces the helper's): its status and its own time.
            arguments += ["-w", "%{http_code} %{time_total}\n"]
            let start = monotonicSeconds()
            let result = try transfers.curl(node, arguments, token: token)
            let elapsed = monotonicSeconds() - start
            let each = result.output.split(separator: "\n").map { $0.split(separator: " ") }
            #expect(each.count == count && each.allSatisfy { $0.first == "200" }, "\(result.output)")
            // The whole run, curl's start and TLS handshakes included: within 5% of the limit's time.
            #expect(abs(elapsed - seconds) / seconds < 0.05, "\(count) download(s) took \(elapsed) s")
            // Shared fairly: equal downloads under one limit end together, none served ahead of the others (the last
            // round ends a chunk apart per download: a megabyte is read and accounted at a time).
            let times = each.compactMap { $0.last.flatMap { Double($0) } }
            #expect((times.min() ?? 0) > 0.85 * (times.max() ?? 0), "download times \(times)")
        }
    }

    @Test("borrowing: an upload takes the idle outgoing budget on top of its own, and only with borrowOutgoing")
    func borrowing() throws {
        let node = try Node()
        let token = try node.token().token
        let transfers = RemoteFileTransferTests()
        let local = node.certificates.directory.file("upload.bin")
        // 8 Mbit/s each way: 2 MB is 2 s alone, 1 s with the idle outgoing budget borrowed.
        _ = try transfers.randomFile(local, bytes: 2_000_000)
        var limits: [String: JSONValue] = [
            "incomingLimitActive": true, "incomingRateLimit": 8000, "outgoingLimitActive": true,
            "outgoingRateLimit": 8000,
        ]
        for (borrow, expected) in [(true, 1.0), (false, 2.0)] {
            limits["borrowOutgoing"] = .bool(borrow)
            _ = try node.local.call("updateBandwidthLimits", .object(limits))
            let start = monotonicSeconds()
            let result = try transfers.curl(
                node,
                ["-T", local, transfers.url(node, "data:borrowed-\(borrow).bin")],
                token: token
            )
            let elapsed = monotonicSeconds() - start
            #expect(result.code == 201)
            #expect(abs(elapsed - expected) / expected < 0.15, "borrowOutgoing \(borrow): took \(elapsed) s")
        }
    }

    @Test("1,000 idle connections, a slowloris, garbage TLS and a huge frame: everyone else is still served")
    func hostileClients() async throws {
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        limit.rlim_cur = limit.rlim_max
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        let node = try Node(extra: "max_connections = 4096\nrequest_timeout = 3")
        var idle: [Int32] = []
        defer { for fd in idle { close(fd) } }
        for _ in 0..<1000 {
            let fd = connectTCP(port: node.port)
            if fd >= 0 { idle.append(fd) }
        }
        #expect(idle.count == 1000)
        // Garbage where a TLS hello should be, and a plain-text request head dribbled byte by byte.
        let garbage = connectTCP(port: node.port)
        _ = Array(repeating: UInt8(0x42), count: 4096).withUnsafeBytes { send(garbage, $0.baseAddress, $0.count, 0) }
        let slow = connectTCP(port: node.port)
        _ = send(slow, "G", 1, 0)
        defer {
            close(garbage)
            close(slow)
        }
        // A well-behaved client and the Unix socket answer at once meanwhile.
        let clock = ContinuousClock()
        let started = clock.now
        let echoed = try await RemoteConnection.with(port: node.port, caFile: node.caFile) {
            try await $0.result("echo", ["text": "served"])
        }
        #expect(echoed == "served")
        #expect(clock.now - started < .seconds(2), "the well-behaved client waited \(clock.now - started)")
        #expect(try node.local.call("echo", ["text": "local"]) == "local")
        // A 100 MB frame is refused by its header alone; the connection closes, the daemon stays.
        let huge = try await RemoteConnection.with(port: node.port, caFile: node.caFile) { remote in
            let frame = WebSocketFrame(fin: true, opcode: .text, data: ByteBuffer(repeating: 0x20, count: 100_000_000))
            do {
                try await remote.outbound.write(.custom(frame))
                _ = try await remote.call("echo", ["text": "after"])
                return false
            } catch {
                return true
            }
        }
        #expect(huge)
        // The idle connections, the garbage and the slowloris are closed by the server after request_timeout.
        usleep(4_500_000)
        var buffer = [UInt8](repeating: 0, count: 16)
        let closedByServer = idle.prefix(50).allSatisfy { recv($0, &buffer, buffer.count, Int32(MSG_DONTWAIT)) == 0 }
        #expect(closedByServer)
        #expect(recv(slow, &buffer, buffer.count, Int32(MSG_DONTWAIT)) == 0)
        #expect(try node.local.call("echo", ["text": "still"]) == "still")
    }
}
