import OutpostClient
import OutpostRPC
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `outpostctl --remote wss://… --token-file F` against a node's remote listener, and `outpostctl get`/`put`: the
/// commands a local admin runs, from another machine, and files that survive a kill -9 halfway.
@Suite("outpostctl --remote, get and put (real binaries)", .serialized)
struct RemoteOutpostctlTests {
    typealias Node = RemoteAccessTests.Node
    let transfers = RemoteFileTransferTests()

    /// A token for the node's peer user, in a file of `mode`.
    func tokenFile(_ node: Node, mode: mode_t = 0o600, token: String? = nil) throws -> String {
        let path = node.daemon.directory.file("token-\(UInt32.random(in: 0...UInt32.max))")
        try writeFile(path, (try token ?? node.token().token) + "\n", mode: mode)
        chmod(path, mode)
        return path
    }

    /// Starts outpostctl against the node's IPv4 listener (or `remote`).
    func start(_ node: Node, _ arguments: [String], tokenFile: String?, remote: String? = nil) throws -> ChildProcess {
        var all = arguments + ["--remote", remote ?? "wss://127.0.0.1:\(node.port)", "--ca-file", node.caFile]
        if let tokenFile { all += ["--token-file", tokenFile] }
        return try ChildProcess(
            try BuiltProducts.path("outpostctl"),
            all,
            environment: ["PATH": "/usr/bin:/bin"],
            directory: node.daemon.directory
        )
    }

    func run(
        _ node: Node,
        _ arguments: [String],
        tokenFile: String?,
        remote: String? = nil
    ) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = try start(node, arguments, tokenFile: tokenFile, remote: remote)
        let status = try process.waitForExit(timeout: .seconds(60))
        return (status, process.standardOutput, process.standardError)
    }

    /// Changes bytes in place, keeping the file's length and extended attributes.
    func overwrite(_ path: String, at offset: Int, with bytes: [UInt8]) throws {
        let fd = open(path, O_WRONLY)
        guard fd >= 0 else { throw TestFailure("cannot open \(path)") }
        defer { close(fd) }
        guard pwrite(fd, bytes, bytes.count, off_t(offset)) == bytes.count else { throw TestFailure("short write") }
    }

    func size(_ path: String) -> Int64 {
        var status = stat()
        return stat(path, &status) == 0 ? Int64(status.st_size) : -1
    }

    @Test("commands run on a remote node as the token's user: info, ls, mkdir, a request polled by a later run, IPv6")
    func commandsOverTheRemoteListener() throws {
        let node = try Node()
        let token = try tokenFile(node)
        let info = try run(node, ["info", "--json"], tokenFile: token)
        #expect(info.status == 0, "\(info.stderr)")
        let localInfo = try node.local.call("getServerInfo")
        #expect(try JSONCoding.parse(Array(info.stdout.utf8))["nodeId"] == localInfo["nodeId"])

        let listing = try run(node, ["ls", "data:"], tokenFile: token)
        #expect(listing.status == 0, "\(listing.stderr)")
        #expect(listing.stdout.contains("mine") && !listing.stdout.contains("private"))
        #expect(try run(node, ["mkdir", "data:made"], tokenFile: token).status == 0)
        let peerUID = try IdentityTests().ensurePeerUser().uid
        var status = stat()
        #expect(stat(node.peerSandbox + "/made", &status) == 0 && status.st_uid == peerUID)

        // A request submitted by one run is polled by the next: outpostctl's runs share one token session.
        let submitted = try run(node, ["ls", "data:", "--async"], tokenFile: token)
        let id = submitted.stdout.split(separator: "\n").first.map(String.init) ?? ""
        #expect(submitted.status == 0 && Int(id) != nil, "\(submitted.stderr)")
        let result = try run(node, ["request", "result", id], tokenFile: token)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("mine"))

        let overIPv6 = try run(node, ["echo", "over six"], tokenFile: token, remote: "wss://[::1]:\(node.ipv6Port)")
        #expect(overIPv6.status == 0 && overIPv6.stdout == "over six\n", "\(overIPv6.stderr)")
    }

    @Test("refusals say why: no token file, one others can read, a revoked token, an untrusted node, nothing there")
    func refusals() throws {
        let node = try Node()
        let missing = try run(node, ["info"], tokenFile: nil)
        #expect(missing.status == 64 && missing.stderr.contains("--token-file"))

        let open = try tokenFile(node, mode: 0o644)
        let readable = try run(node, ["info"], tokenFile: open)
        #expect(readable.status == 64 && readable.stderr.contains("chmod 600"), "\(readable.stderr)")

        let made = try node.token()
        _ = try node.local.call("revokeSharedToken", ["tokenId": .string(made.id)])
        let revoked = try run(node, ["info"], tokenFile: try tokenFile(node, token: made.token))
        #expect(revoked.status == 77 && revoked.stderr.contains("refused the sign-in"), "\(revoked.stderr)")

        let token = try tokenFile(node)
        // The system's authorities do not know the test CA.
        let untrusted = try ChildProcess(
            try BuiltProducts.path("outpostctl"),
            ["info", "--remote", "wss://127.0.0.1:\(node.port)", "--token-file", token],
            environment: ["PATH": "/usr/bin:/bin"],
            directory: node.daemon.directory
        )
        #expect(try untrusted.waitForExit(timeout: .seconds(30)) == 77)
        #expect(untrusted.standardError.contains("TLS handshake"), "\(untrusted.standardError)")

        let nobody = try run(node, ["info"], tokenFile: token, remote: "wss://127.0.0.1:\(try Coordinator.freePort())")
        #expect(nobody.status == 69 && nobody.stderr.contains("nothing is listening"), "\(nobody.stderr)")
        let plain = try run(node, ["info"], tokenFile: token, remote: "ws://127.0.0.1:\(node.port)")
        #expect(plain.status == 64 && plain.stderr.contains("wss://HOST:PORT"))

        let get = try ChildProcess(
            try BuiltProducts.path("outpostctl"),
            ["get", "data:mine", "--socket", node.daemon.socketPath],
            environment: ["PATH": "/usr/bin:/bin"],
            directory: node.daemon.directory
        )
        #expect(try get.waitForExit(timeout: .seconds(30)) == 64 && get.standardError.contains("--remote"))

        // A file that is not there: a clear error, and no empty partial left in the current directory.
        let absent = try run(node, ["get", "data:no-such-file", node.daemon.directory.path + "/"], tokenFile: token)
        let directory = try run(node, ["info"], tokenFile: node.daemon.directory.path)
        #expect(directory.status == 64 && directory.stderr.contains("not a small regular file"), "\(directory.stderr)")
        let empty = node.daemon.directory.file("empty-token")
        try writeFile(empty, "\n", mode: 0o600)
        let blank = try run(node, ["info"], tokenFile: empty)
        #expect(blank.status == 64 && blank.stderr.contains("on its first line"), "\(blank.stderr)")
        #expect(absent.status == 1 && absent.stderr.contains("HTTP 404"), "\(absent.stderr)")
        #expect(size(node.daemon.directory.file(".no-such-file.outpost-partial")) == -1)
    }

    @Test("get: killed halfway, resumed to an identical, verified file; a corrupted partial is caught and redone")
    func downloadResumesAfterKill() throws {
        let node = try Node()
        let token = try tokenFile(node)
        let bytes = 24 << 20
        let original = try transfers.randomFile(node.peerSandbox + "/big.bin", bytes: bytes)
        // 40 Mbit/s: 5 MB/s, so the download is under way for seconds.
        _ = try node.local.call("updateBandwidthLimits", ["outgoingLimitActive": true, "outgoingRateLimit": 40_000])
        let target = node.daemon.directory.file("big.bin")
        let partial = node.daemon.directory.file(".big.bin.outpost-partial")
        let first = try start(node, ["get", "data:big.bin", target], tokenFile: token)
        #expect(try eventually(timeout: .seconds(20)) { size(partial) >= 10 << 20 })
        // Halfway, the state tree shows the rate the limit allows.
        let rate = try node.local.call("getState")["transfers"]?["outgoing"]?["rate"]?.integerValue ?? 0
        #expect(abs(Double(rate) - 5_000_000) / 5_000_000 < 0.2, "outgoing rate \(rate) B/s")
        first.signal(SIGKILL)
        _ = try first.waitForExit(timeout: .seconds(10))
        let kept = size(partial)
        #expect(kept >= 10 << 20 && kept < Int64(bytes) && size(target) == -1)

        _ = try node.local.call("updateBandwidthLimits", ["outgoingLimitActive": false])
        let second = try run(node, ["get", "data:big.bin", target, "--json"], tokenFile: token)
        #expect(second.status == 0, "\(second.stderr)")
        let report = try JSONCoding.parse(Array(second.stdout.utf8))
        #expect(report["resumedAt"]?.integerValue == kept)
        #expect(report["sha256"]?.stringValue?.count == 64)
        #expect(transfers.bytes(of: target) == original)
        #expect(size(partial) == -1)

        // A partial whose bytes went bad is caught by the checksum, removed, and the next run starts over.
        _ = try node.local.call("updateBandwidthLimits", ["outgoingLimitActive": true, "outgoingRateLimit": 40_000])
        let again = node.daemon.directory.file("again.bin")
        let againPartial = node.daemon.directory.file(".again.bin.outpost-partial")
        let interrupted = try start(node, ["get", "data:big.bin", again], tokenFile: token)
        #expect(try eventually(timeout: .seconds(20)) { size(againPartial) >= 4 << 20 })
        interrupted.signal(SIGKILL)
        _ = try interrupted.waitForExit(timeout: .seconds(10))
        _ = try node.local.call("updateBandwidthLimits", ["outgoingLimitActive": false])
        try overwrite(againPartial, at: 100, with: [0xFF, 0x00, 0xFF, 0x00])
        let caught = try run(node, ["get", "data:big.bin", again], tokenFile: token)
        #expect(caught.status == 1 && caught.stderr.contains("partial was removed"), "\(caught.stderr)")
        #expect(size(againPartial) == -1 && size(again) == -1)
        let redone = try run(node, ["get", "data:big.bin", again], tokenFile: token)
        #expect(redone.status == 0 && transfers.bytes(of: again) == original, "\(redone.stderr)")
    }

    @Test("get from a node that dies halfway: a clear error, and the partial is kept for the next run")
    func nodeGoneDuringDownload() throws {
        let node = try Node()
        let token = try tokenFile(node)
        _ = try transfers.randomFile(node.peerSandbox + "/big.bin", bytes: 24 << 20)
        _ = try node.local.call("updateBandwidthLimits", ["outgoingLimitActive": true, "outgoingRateLimit": 40_000])
        let partial = node.daemon.directory.file(".big.bin.outpost-partial")
        let get = try start(node, ["get", "data:big.bin", node.daemon.directory.path + "/"], tokenFile: token)
        #expect(try eventually(timeout: .seconds(20)) { size(partial) >= 2 << 20 })
        node.daemon.process.signal(SIGKILL)
        #expect(try get.waitForExit(timeout: .seconds(30)) == 76, "\(get.standardError)")
        #expect(get.standardError.contains("was cut"), "\(get.standardError)")
        #expect(size(partial) >= 2 << 20 && size(node.daemon.directory.file("big.bin")) == -1)
    }

    @Test("put: killed halfway, resumed to an identical file; a changed local file never replaces the target")
    func uploadResumesAfterKill() throws {
        let node = try Node()
        let token = try tokenFile(node)
        let bytes = 24 << 20
        let local = node.daemon.directory.file("up.bin")
        let original = try transfers.randomFile(local, bytes: bytes)
        _ = try node.local.call("updateBandwidthLimits", ["incomingLimitActive": true, "incomingRateLimit": 40_000])
        let partial = node.peerSandbox + "/.up.bin.outpost-partial"
        let first = try start(node, ["put", local, "data:up.bin"], tokenFile: token)
        #expect(try eventually(timeout: .seconds(20)) { size(partial) >= 10 << 20 })
        let rate = try node.local.call("getState")["transfers"]?["incoming"]?["rate"]?.integerValue ?? 0
        #expect(abs(Double(rate) - 5_000_000) / 5_000_000 < 0.2, "incoming rate \(rate) B/s")
        first.signal(SIGKILL)
        _ = try first.waitForExit(timeout: .seconds(10))
        #expect(size(node.peerSandbox + "/up.bin") == -1)

        _ = try node.local.call("updateBandwidthLimits", ["incomingLimitActive": false])
        let second = try run(node, ["put", local, "data:up.bin", "--json"], tokenFile: token)
        #expect(second.status == 0, "\(second.stderr)")
        let report = try JSONCoding.parse(Array(second.stdout.utf8))
        #expect((report["resumedAt"]?.integerValue ?? 0) >= 10 << 20)
        #expect(transfers.bytes(of: node.peerSandbox + "/up.bin") == original)
        let peerUID = try IdentityTests().ensurePeerUser().uid
        var status = stat()
        #expect(stat(node.peerSandbox + "/up.bin", &status) == 0 && status.st_uid == peerUID)

        // Start a new version, interrupt it, change the local file: the resumed upload's checksum cannot match.
        _ = try node.local.call("updateBandwidthLimits", ["incomingLimitActive": true, "incomingRateLimit": 40_000])
        let changed = node.daemon.directory.file("changed.bin")
        _ = try transfers.randomFile(changed, bytes: bytes)
        let third = try start(node, ["put", changed, "data:up.bin"], tokenFile: token)
        #expect(try eventually(timeout: .seconds(20)) { size(partial) >= 4 << 20 })
        third.signal(SIGKILL)
        _ = try third.waitForExit(timeout: .seconds(10))
        _ = try node.local.call("updateBandwidthLimits", ["incomingLimitActive": false])
        try overwrite(changed, at: 0, with: [1, 2, 3, 4])
        let refused = try run(node, ["put", changed, "data:up.bin"], tokenFile: token)
        #expect(refused.status == 1 && refused.stderr.contains("target is unchanged"), "\(refused.stderr)")
        #expect(transfers.bytes(of: node.peerSandbox + "/up.bin") == original)
    }
}
