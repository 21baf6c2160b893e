import OutpostClient
import OutpostRPC
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The asynchronous file API against a real daemon, compared with what the file system says.
@Suite("file requests (real outpostd)", .serialized)
struct FileRequestTests {
    /// A daemon whose system sandbox maps `data:` to `<tmp>/sandboxes/<user>`, with that directory made.
    func sandboxedDaemon(extraConfig: String = "", inMemory: Bool = false) throws -> (Daemon, String) {
        let directory = try TemporaryDirectory(inMemory: inMemory)
        let sandbox = directory.file("sandboxes/\(UnixUserName.current)")
        mkdir(directory.file("sandboxes"), 0o755)
        mkdir(sandbox, 0o755)
        let daemon = try Daemon(
            config: "[sandbox]\n\"\" = { data = \"\(directory.file("sandboxes"))/%u\" }\n" + extraConfig,
            directory: directory
        )
        return (daemon, sandbox)
    }

    /// `directories` subdirectories of `path`, each with `filesEach` empty files.
    func makeEmptyFiles(in path: String, directories: Int, filesEach: Int) {
        mkdir(path, 0o755)
        for group in 0..<directories {
            mkdir(path + "/\(group)", 0o755)
            for index in 0..<filesEach {
                close(open(path + "/\(group)/\(index)", O_WRONLY | O_CREAT, 0o644))
            }
        }
    }

    func run(_ client: ControlClient, _ method: String, _ params: JSONValue? = nil) throws -> JSONValue {
        let submitted = try client.call(method, params)
        guard let id = submitted["requestId"] else { throw TestFailure("no requestId in \(submitted)") }
        return try client.call("getRequestResult", ["requestId": id, "timeoutSeconds": 30])
    }

    @Test("ls, du, mkdir, mv and rm do what the file system then shows")
    func operations() throws {
        let (daemon, sandbox) = try sandboxedDaemon()
        let client = try daemon.client(timeoutSeconds: 60)
        try writeFile(sandbox + "/a.txt", "hello")
        mkdir(sandbox + "/dir", 0o755)
        try writeFile(sandbox + "/dir/b.bin", String(repeating: "z", count: 4096))
        symlink("a.txt", sandbox + "/link")

        let listing = try run(client, "lsAsync", ["path": "data:"])
        let names = Set(listing["files"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? [])
        #expect(names == ["a.txt", "dir", "link"])
        let types = Dictionary(
            uniqueKeysWithValues: (listing["files"]?.arrayValue ?? []).map {
                ($0["name"]?.stringValue ?? "", $0["type"]?.integerValue ?? -1)
            }
        )
        #expect(types == ["a.txt": 4, "dir": 2, "link": 5])

        #expect(try run(client, "duAsync", ["path": "data:"])["du"] == .integer(5 + 4096))
        _ = try run(client, "mkdirAsync", ["path": "data:new/deeper"])
        #expect(fileExists(sandbox + "/new/deeper"))
        _ = try run(client, "mvAsync", ["path": "data:a.txt", "newPath": "data:new/a.txt"])
        #expect(!fileExists(sandbox + "/a.txt") && fileExists(sandbox + "/new/a.txt"))
        _ = try run(client, "rmAsync", ["path": "data:dir"])
        #expect(!fileExists(sandbox + "/dir"))

        let roots = try run(client, "lsRootsAsync")
        #expect(roots["files"]?.arrayValue?.first?["name"] == "data")
        #expect(roots["files"]?.arrayValue?.first?["type"] == 10)
        #expect(try daemon.stop() == 0)
    }

    @Test("hostile paths are errors and nothing outside is touched")
    func hostilePaths() throws {
        let (daemon, sandbox) = try sandboxedDaemon()
        let client = try daemon.client(timeoutSeconds: 60)
        let outside = daemon.directory.file("outside")
        try writeFile(outside, "keep")
        symlink(outside, sandbox + "/escape")
        symlink("/etc", sandbox + "/etc")
        for (method, path) in [
            ("rmAsync", "data:../../outside"), ("rmAsync", "data:escape/.."), ("lsAsync", "data:etc"),
            ("duAsync", "data:../"), ("lsAsync", "other:x"), ("lsAsync", "/etc"),
            ("lsAsync", "data:" + String(repeating: "n", count: 4096)),
        ] {
            do {
                _ = try run(client, method, ["path": .string(path)])
                Issue.record("\(method) \(path) succeeded")
            } catch {
                #expect((error as? ControlClientError)?.code == .remote, "\(method) \(path): \(error)")
            }
        }
        // NUL bytes are refused before a request is made.
        #expect(throws: ControlClientError.self) { try client.call("lsAsync", ["path": "data:a\u{0}b"]) }
        // rm of the link removes the link, never its target.
        _ = try run(client, "rmAsync", ["path": "data:escape"])
        #expect(!fileExists(sandbox + "/escape"))
        #expect(try readFile(outside) == "keep")
        #expect(throws: ControlClientError.self) { try run(client, "rmAsync", ["path": "data:"]) }
        #expect(try daemon.stop() == 0)
    }

    @Test("unknown ids, GC with short settings, and superuser-only lifecycle calls")
    func lifecycle() throws {
        let (daemon, _) = try sandboxedDaemon()
        let client = try daemon.client(timeoutSeconds: 60)
        do {
            _ = try client.call("getRequestStatus", ["requestId": 999])
            Issue.record("an unknown id was found")
        } catch {
            #expect(error.message.contains("not found (expired or never issued)"))
        }
        let id = try client.call("lsAsync", ["path": "data:"])["requestId"]!
        _ = try client.call("getRequestResult", ["requestId": id, "timeoutSeconds": 30])
        // A finished result is answered at once, but a bad timeout is still refused, as for one still pending.
        for timeout: JSONValue in [-1, 86401, "soon"] {
            do {
                _ = try client.call("getRequestResult", ["requestId": id, "timeoutSeconds": timeout])
                Issue.record("timeoutSeconds \(timeout) was accepted")
            } catch {
                #expect(error.rpcError?.code == -32602, "timeoutSeconds \(timeout)")
            }
        }
        #expect(try client.call("getRequestStatus", ["requestId": id])["status"] == "success")
        #expect(try client.call("listRequests").arrayValue?.count == 1)

        #expect(throws: ControlClientError.self) { try client.call("garbageCollect", ["force": true]) }
        _ = try client.call("superuser")
        #expect(throws: ControlClientError.self) {
            try client.call("updateGarbageCollectSettings", ["intervalSeconds": 10])
        }
        let settings = try client.call(
            "updateGarbageCollectSettings",
            ["intervalSeconds": 60, "timeLimitSeconds": 0]
        )
        #expect(settings == ["intervalSeconds": 60, "timeLimitSeconds": 0])
        _ = try client.call("garbageCollect", ["force": false])
        #expect(throws: ControlClientError.self) { try client.call("getRequestStatus", ["requestId": id]) }
        #expect(try daemon.stop() == 0)
    }

    @Test("cancel stops a running rm of 100k files within a second")
    func cancelLargeRemove() throws {
        let (daemon, sandbox) = try sandboxedDaemon(inMemory: true)
        let client = try daemon.client(timeoutSeconds: 60)
        makeEmptyFiles(in: sandbox + "/many", directories: 100, filesEach: 1000)
        let id = try client.call("rmAsync", ["path": "data:many"])["requestId"]!
        usleep(50_000)
        let start = ContinuousClock.now
        _ = try client.call("cancelRequest", ["requestId": id])
        let stopped = try eventually(timeout: .seconds(1)) {
            try client.call("getRequestStatus", ["requestId": id])["status"] != "pending"
        }
        #expect(stopped, "still pending \(ContinuousClock.now - start) after cancel")
        #expect(try client.call("getRequestStatus", ["requestId": id])["status"] == "cancelled")
        #expect(fileExists(sandbox + "/many"))
        #expect(try daemon.stop() == 0)
    }

    @Test("slow du requests leave echo answering in milliseconds")
    func slowRequestsDoNotStallOthers() throws {
        let (daemon, sandbox) = try sandboxedDaemon(inMemory: true)
        let client = try daemon.client(timeoutSeconds: 60)
        makeEmptyFiles(in: sandbox + "/tree", directories: 50, filesEach: 400)
        let ids = try (0..<10).map { _ in try client.call("duAsync", ["path": "data:tree"])["requestId"]! }
        var slowest = Duration.zero
        let other = try daemon.client()
        for _ in 0..<20 {
            let start = ContinuousClock.now
            _ = try other.call("echo", ["text": "x"])
            slowest = max(slowest, ContinuousClock.now - start)
        }
        #expect(slowest < .milliseconds(50), "echo took \(slowest)")
        for id in ids {
            #expect(try client.call("getRequestResult", ["requestId": id, "timeoutSeconds": 60])["du"] == 0)
            // 50 directories of 400 files, each entry counted as it was walked.
            #expect(try client.call("getRequestStatus", ["requestId": id])["entriesDone"] == .integer(50 * 401))
        }
        #expect(try daemon.stop() == 0)
    }

    @Test("a non-superuser without a sandbox mapping reaches nothing")
    func noMappingNoAccess() throws {
        let daemon = try Daemon()
        let client = try daemon.client()
        let id = try client.call("lsAsync", ["path": "/"])["requestId"]!
        do {
            _ = try client.call("getRequestResult", ["requestId": id, "timeoutSeconds": 30])
            Issue.record("listed / without a sandbox")
        } catch {
            #expect(error.message.contains("no sandbox"))
        }
        #expect(try daemon.stop() == 0)
    }

    @Test("a mapping set through the API takes effect and survives a restart; terminate stops the daemon")
    func mappingThroughTheAPI() throws {
        let directory = try TemporaryDirectory()
        let sandbox = directory.file("mine")
        mkdir(sandbox, 0o755)
        try writeFile(sandbox + "/f", "x")
        let first = try Daemon(directory: directory)
        let admin = try first.client()
        _ = try admin.call("superuser")
        _ = try admin.call(
            "setSandboxMapping",
            ["userName": .string(UnixUserName.current), "sandboxRoots": ["mine": .string(sandbox)]]
        )
        #expect(try first.stop() == 0)

        let second = try Daemon(directory: directory)
        let user = try second.client(timeoutSeconds: 30)
        let listing = try run(user, "lsAsync", ["path": "mine:"])
        #expect(listing["files"]?.arrayValue?.map { $0["name"] } == ["f"])
        #expect(throws: ControlClientError.self) { try user.call("terminate") }
        _ = try user.call("superuser")
        _ = try user.call("terminate")
        #expect(try second.process.waitForExit(timeout: .seconds(5)) == 0)
    }

    @Test("past max_pending_per_user a request is refused with a clear error; finished ones free the slot")
    func perUserCap() throws {
        let (daemon, sandbox) = try sandboxedDaemon(extraConfig: "[requests]\nworkers = 1\nmax_pending_per_user = 1\n")
        let client = try daemon.client(timeoutSeconds: 60)
        makeEmptyFiles(in: sandbox + "/tree", directories: 20, filesEach: 100)
        // One batch, so the second submission follows the first within the daemon, whatever the test's own thread
        // is doing: the first du (2,000 files) is still pending then.
        try client.send(
            .array((1...3).map { RPCRequest(id: .number($0), method: "duAsync", params: ["path": "data:tree"]).json })
        )
        let responses = (try client.readMessage().arrayValue ?? []).compactMap(RPCResponse.init(json:))
        let accepted = responses.compactMap { try? $0.outcome.get()["requestId"] }
        let refusals = responses.compactMap { response -> RPCError? in
            if case .failure(let error) = response.outcome { return error }
            return nil
        }
        #expect(responses.count == 3 && accepted.count == 1 && refusals.count == 2)
        #expect(refusals.allSatisfy { $0.code == RPCError.limitExceededCode })
        #expect(refusals.allSatisfy { $0.message.contains("the limit is 1") })
        guard accepted.count == 1 else { return }
        _ = try client.call("getRequestResult", ["requestId": accepted[0], "timeoutSeconds": 60])
        #expect(try client.call("duAsync", ["path": "data:tree"])["requestId"] != nil)
        #expect(try daemon.stop() == 0)
    }
}
