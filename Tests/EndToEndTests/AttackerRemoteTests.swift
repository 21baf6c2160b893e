import OutpostClient
import OutpostRPC
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The remote listener attacked as it was found: a symlinked sandbox root read over HTTP, a Range header at the edge
/// of Int64, FIFOs that once froze every transfer and sign-in, and sign-ins in parallel past the throttle.
@Suite("security: the remote listener under attack (real binaries, curl)", .serialized)
struct AttackerRemoteTests {
    typealias Node = RemoteAccessTests.Node

    func curl(_ node: Node, _ arguments: [String], token: String?) throws -> (code: Int, output: String) {
        try RemoteFileTransferTests().curl(node, ["--max-time", "20"] + arguments, token: token)
    }

    func url(_ node: Node, _ path: String) -> String { "https://127.0.0.1:\(node.port)/v1/files/\(path)" }

    @Test("GET through a sandbox root the user swapped for a symlink to / returns nothing of /")
    func symlinkedRootOverHTTP() throws {
        let node = try Node()
        let token = try node.token().token
        let attacker = try Attacker(directory: node.certificates.directory)
        let userDirectory = node.certificates.directory.file("userdir")
        mkdir(userDirectory, 0o755)
        mkdir(userDirectory + "/data", 0o755)
        attacker.give(userDirectory)
        attacker.give(userDirectory + "/data")
        try writeFile(userDirectory + "/data/mine.txt", "mine\n")
        chmod(node.certificates.directory.path, 0o755)
        _ = try node.local.call(
            "setSandboxMapping",
            ["userName": .string(attacker.name), "sandboxRoots": ["data": .string(userDirectory + "/data")]]
        )
        #expect(try curl(node, ["-o", "/dev/null", url(node, "data:mine.txt")], token: token).code == 200)
        try attacker.shell("cd \(userDirectory) && mv data data.orig && ln -s / data")
        for path in ["data:etc/shadow", "data:etc/passwd"] {
            let got = try curl(node, [url(node, path)], token: token)
            #expect(got.code != 200 && !got.output.contains("root:"), "\(path): \(got.code)")
        }
    }

    @Test("Range at and past Int64's edge, suffixes and empty ranges: RFC 9110's answers, and the daemon lives")
    func hostileRanges() throws {
        let node = try Node()
        let token = try node.token().token
        try writeFile(node.peerSandbox + "/twelve.txt", "0123456789AB")
        let file = url(node, "data:twelve.txt")
        func get(_ range: String) throws -> (code: Int, output: String) {
            try curl(node, ["-H", "Range: \(range)", file], token: token)
        }
        let huge = try get("bytes=0-9223372036854775807")
        #expect(huge.code == 206 && huge.output == "0123456789AB")
        #expect(try get("bytes=0-99999999999999999999999").code == 200)  // not a number we read: ignored
        #expect(try get("bytes=9223372036854775807-").code == 416)
        let last = try get("bytes=-1")
        #expect(last.code == 206 && last.output == "B")
        #expect(try get("bytes=-0").code == 416)
        #expect(try get("bytes=12-").code == 416)
        let tail = try get("bytes=10-")
        #expect(tail.code == 206 && tail.output == "AB")
        #expect(try node.local.call("echo", ["text": "alive"]) == "alive")
    }

    @Test("GETs of FIFOs fail at once, and transfers and sign-ins go on for everyone")
    func fifosDoNotFreezeTheListener() async throws {
        let node = try Node()
        let token = try node.token().token
        try writeFile(node.peerSandbox + "/plain.txt", "plain\n")
        for index in 0..<6 {
            guard mkfifo(node.peerSandbox + "/fifo\(index)", 0o644) == 0 else { throw TestFailure("mkfifo failed") }
        }
        for index in 0..<6 {
            let started = ContinuousClock.now
            let got = try curl(node, ["-o", "/dev/null", url(node, "data:fifo\(index)")], token: token)
            #expect(got.code == 409, "fifo\(index): \(got.code)")
            #expect(ContinuousClock.now - started < .seconds(5))
        }
        // A PUT to a name whose partial file is a FIFO the user left there: refused, not hung.
        mkfifo(node.peerSandbox + "/.upload.txt.outpost-partial", 0o644)
        let attacker = try Attacker(directory: node.certificates.directory)
        attacker.give(node.peerSandbox + "/.upload.txt.outpost-partial")
        let body = node.certificates.directory.file("body.txt")
        try writeFile(body, "x\n")
        let put = try curl(
            node,
            ["-X", "PUT", "--data-binary", "@\(body)", url(node, "data:upload.txt")],
            token: token
        )
        #expect(put.code == 409, "\(put.code) \(put.output)")
        let plain = try curl(node, [url(node, "data:plain.txt")], token: token)
        #expect(plain.code == 200 && plain.output == "plain\n")
        try await RemoteConnection.with(port: node.port, caFile: node.caFile) { remote in
            _ = try await remote.result(
                "auth",
                ["userName": .string(IdentityTests.peer), "password": .string(RemoteAccessTests.peerPassword)]
            )
        }
    }

    @Test("sign-ins in parallel are counted before their checks: at most the limit is checked, over HTTP and WebSocket")
    func parallelGuessesMeetTheThrottle() async throws {
        let node = try Node()
        try writeFile(node.peerSandbox + "/plain.txt", "plain\n")
        // Over WebSocket: 30 connections at once from 127.0.0.1, one with the right password. At most 10 wrong
        // ones are checked; the rest are refused unchecked.
        let port = node.port
        let caFile = node.caFile
        let all = try await withThrowingTaskGroup(of: String.self) { group in
            for index in 0..<30 {
                group.addTask {
                    let password = index == 29 ? RemoteAccessTests.peerPassword : "wrong-\(index)"
                    return try await RemoteConnection.with(port: port, caFile: caFile) { remote in
                        let answer = try await remote.call(
                            "auth",
                            ["userName": .string(IdentityTests.peer), "password": .string(password)]
                        )
                        switch answer {
                        case .success: return "signed in"
                        case .failure(let error): return error.message
                        }
                    }
                }
            }
            return try await group.reduce(into: [String]()) { $0.append($1) }
        }
        #expect(all.count == 30)
        // At most 10 wrong passwords were checked (a right one, if it got a slot, gives its slot back).
        #expect(all.filter { $0.contains("wrong user name or password") }.count <= 10, "\(all)")
        #expect(all.filter { $0.contains("too many failed sign-ins") }.count >= 19, "\(all)")
        #expect(all.filter { $0 == "signed in" }.count <= 1)

        // 40 Basic guesses at once from one address (limit: 10 failures a minute), from ::1: 127.0.0.1 used up
        // its own guesses above.
        let file = "https://[::1]:\(node.ipv6Port)/v1/files/data:plain.txt"
        var arguments = ["-sS", "--cacert", node.caFile, "--parallel", "--parallel-immediate", "--parallel-max", "40"]
        for _ in 0..<40 {
            arguments += ["-u", "\(IdentityTests.peer):wrong-guess", "-o", "/dev/null", "-w", "%{http_code}\n", file]
        }
        let guesses = try ChildProcess(
            "/usr/bin/curl",
            arguments,
            environment: ["PATH": "/usr/bin:/bin"],
            directory: node.certificates.directory
        )
        _ = try guesses.waitForExit(timeout: .seconds(120))
        let codes = guesses.standardOutput.split(separator: "\n").compactMap { Int($0) }
        #expect(codes.count == 40)
        #expect(codes.filter { $0 == 401 }.count <= 10, "\(codes)")
        #expect(codes.filter { $0 == 429 }.count >= 30, "\(codes)")
    }
}
