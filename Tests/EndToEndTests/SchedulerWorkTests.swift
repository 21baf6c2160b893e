import OutpostClient
import OutpostRPC
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// outpost-coordinator as a BOINC project and outpostd as its client, both real: jobs flow through the lanes, survive
/// kills of either side, and a corrupted or unsigned download ends its job with a clear error.
@Suite("BOINC work (real binaries)", .serialized)
struct SchedulerWorkTests {
    static func nodeConfig(_ coordinator: Coordinator, tokenFile: String) -> String {
        """
        [lanes]
        count = 2
        check_interval_ms = 100
        [coordinator]
        url = "\(coordinator.url)"
        checkin_interval = 1
        enrollment_token_file = "\(tokenFile)"
        [scheduler]
        backoff_min = 1
        backoff_max = 4
        """
    }

    /// A coordinator with `count` jobs of an app running `app`, and an enrolled node taking them, with a superuser
    /// control connection to it.
    static func projectWithNode(app: String, input: String, count: Int) throws -> (Coordinator, Daemon, ControlClient) {
        let coordinator = try Coordinator(checkinInterval: 1, offlineGrace: 30, extra: Coordinator.projectSettings)
        try coordinator.addApp(body: app)
        try coordinator.submit(input: input, count: count)
        let (_, tokenFile) = try coordinator.token()
        let daemon = try Daemon(config: Self.nodeConfig(coordinator, tokenFile: tokenFile))
        let client = try daemon.client()
        _ = try client.call("superuser")
        return (coordinator, daemon, client)
    }

    /// Every job done exactly once with its output intact.
    static func expectDoneExactlyOnce(_ jobs: [JSONValue], coordinator: Coordinator, expected: String) throws {
        for job in jobs {
            #expect(job["state"]?.stringValue == "done", "\(job)")
            let successes = (job["results"]?.arrayValue ?? []).filter { $0["outcome"]?.stringValue == "success" }
            #expect(successes.count == 1, "job \(job["name"] ?? .null) succeeded \(successes.count) times")
            for success in successes {
                for output in success["outputs"]?.arrayValue ?? [] {
                    let path = try #require(output["path"]?.stringValue)
                    #expect(try readFile(path) == expected, "\(path)")
                }
            }
        }
    }

    @Test func aHundredJobsFlowThroughTwoLanesAcrossKillsOfBothSides() throws {
        let coordinator = try Coordinator(checkinInterval: 1, offlineGrace: 30, extra: Coordinator.projectSettings)
        try coordinator.addApp()
        try coordinator.submit(input: "hello outpost\n", count: 100)
        let (_, tokenFile) = try coordinator.token()
        let config = Self.nodeConfig(coordinator, tokenFile: tokenFile)
        var daemon = try Daemon(config: config)
        let directory = daemon.directory

        // The node is killed -9 midway and restarted on the same state.
        #expect(try eventually(timeout: .seconds(60)) { (try coordinator.summary()["done"] ?? 0) >= 25 })
        daemon.process.signal(SIGKILL)
        _ = try daemon.process.waitForExit(timeout: .seconds(10))
        daemon = try Daemon(config: config, directory: directory)

        // The coordinator is killed and restarted on the same port and registry.
        #expect(try eventually(timeout: .seconds(60)) { (try coordinator.summary()["done"] ?? 0) >= 55 })
        coordinator.process?.signal(SIGKILL)
        _ = try coordinator.process?.waitForExit(timeout: .seconds(10))
        try coordinator.start()

        let finished = try eventually(timeout: .seconds(120)) { (try coordinator.summary()["done"] ?? 0) == 100 }
        let summary = try coordinator.summary()
        #expect(finished, "summary \(summary); node: \(daemon.process.standardError.suffix(2000))")
        try Self.expectDoneExactlyOnce(try coordinator.jobs(), coordinator: coordinator, expected: "HELLO OUTPOST\n")
        // The node's check-ins count the bytes its transfers moved (since its restart: downloads may all have come
        // before, uploads surely after).
        #expect(
            try eventually(timeout: .seconds(10)) {
                let metrics = try coordinator.find("Client where type=1").first?["metrics"]
                return (metrics?["out"]?["s_t"]?.numberValue ?? 0) > 0
                    && (metrics?["in"]?["s_t"]?.numberValue ?? -1) >= 0
            }
        )
        try daemon.stop()
    }

    @Test func aCorruptedDownloadEndsTheJobWithAClearError() throws {
        let coordinator = try Coordinator(extra: Coordinator.projectSettings)
        try coordinator.addApp()
        try coordinator.submit(input: "intact\n", count: 1, extra: ["--attempts", "2"])
        // The stored input changes on the server's disk after submission: its MD5 no longer matches.
        let downloads = coordinator.directory.file("state/project/download")
        let input = try #require(try listDirectory(downloads).first { $0.hasPrefix("in_") })
        try writeFile(downloads + "/" + input, "tampered\n")
        let (_, tokenFile) = try coordinator.token()
        let daemon = try Daemon(config: Self.nodeConfig(coordinator, tokenFile: tokenFile))
        #expect(try eventually(timeout: .seconds(60)) { (try coordinator.summary()["failed"] ?? 0) == 1 })
        let job = try #require(try coordinator.jobs().first)
        let results = job["results"]?.arrayValue ?? []
        #expect(results.count == 2, "\(job)")
        #expect(job["error"]?.stringValue?.contains("exit status -119") == true, "\(job)")
        #expect(
            results.allSatisfy { $0["stderr"]?.stringValue?.contains("a corrupted download") == true },
            "\(results)"
        )
        try daemon.stop()
    }

    @Test func anAppSignedWithAnotherKeyIsRefused() throws {
        let coordinator = try Coordinator(extra: Coordinator.projectSettings)
        let (_, tokenFile) = try coordinator.token()
        let daemon = try Daemon(config: Self.nodeConfig(coordinator, tokenFile: tokenFile))
        // The node trusts the project's first key…
        #expect(
            try eventually(timeout: .seconds(30)) {
                let client = try daemon.client()
                _ = try client.call("superuser")
                return try client.call("getState")["scheduler"]?["projects"]?.objectValue?.isEmpty == false
            }
        )
        // …then the project's key is replaced (a compromised or rebuilt server) and an app is signed with the new one.
        try coordinator.stop()
        unlink(coordinator.directory.file("state/project/code_sign_private.der"))
        try coordinator.start()
        try coordinator.addApp()
        try coordinator.submit(input: "x\n", count: 1, extra: ["--attempts", "1"])
        #expect(try eventually(timeout: .seconds(90)) { (try coordinator.summary()["failed"] ?? 0) == 1 })
        let job = try #require(try coordinator.jobs().first)
        let stderr = job["results"]?.arrayValue?.first?["stderr"]?.stringValue ?? ""
        #expect(
            stderr.contains("is not signed with the project's code-signing key"),
            "\(job)\n\(daemon.process.standardError.suffix(3000))"
        )
        try daemon.stop()
    }

    @Test func aDisabledNodeHoldsItsUploadsUntilEnabledAndLosesNothing() throws {
        let (coordinator, daemon, client) = try Self.projectWithNode(
            app: "sleep 4; tr 'a-z' 'A-Z' < in.txt > out.txt",
            input: "held\n",
            count: 1
        )
        let taskStates = {
            try client.call("getState")["tasks"]?.objectValue?.values.compactMap { $0["state"]?.stringValue } ?? []
        }
        #expect(try eventually(timeout: .seconds(60)) { try taskStates().contains("running") })

        // Disabled while the task runs: it finishes (when_disabled = finish), but its output is not uploaded.
        let id = try #require(try coordinator.find("Client where type=1").first?["id"]?.stringValue)
        #expect(try coordinator.cli(["clients", "disable", id]).status == 0)
        #expect(try eventually { try client.call("getState")["coordinator"]?["status"] == "disabled" })
        #expect(try eventually(timeout: .seconds(30)) { try taskStates().contains("succeeded") })
        usleep(3_000_000)
        let uploads = coordinator.directory.file("state/project/upload")
        #expect(try listDirectory(uploads).isEmpty)
        #expect(try coordinator.summary()["done"] ?? 0 == 0)
        #expect(daemon.process.standardError.contains("transfers are paused"))

        // Enabled again: the held result is uploaded and reported.
        #expect(try coordinator.cli(["clients", "enable", id]).status == 0)
        #expect(try eventually(timeout: .seconds(60)) { (try coordinator.summary()["done"] ?? 0) == 1 })
        try Self.expectDoneExactlyOnce(try coordinator.jobs(), coordinator: coordinator, expected: "HELD\n")
        try daemon.stop()
    }

    @Test func aCancelledJobIsAbortedOnTheNodeThatRunsIt() throws {
        let (coordinator, daemon, client) = try Self.projectWithNode(
            app: "sleep 120; tr 'a-z' 'A-Z' < in.txt > out.txt",
            input: "long\n",
            count: 2
        )
        let tasks = { try client.call("getState")["tasks"]?.objectValue?.values.map { $0 } ?? [] }
        #expect(
            try eventually(timeout: .seconds(60)) { try tasks().filter { $0["state"] == "running" }.count == 2 }
        )
        let job = try #require(try coordinator.jobs().first?["id"]?.integerValue)
        let cancel = try coordinator.cli(["cancel", String(job)])
        #expect(cancel.status == 0 && cancel.output.contains("cancelled 1 job"), "\(cancel)")

        // At the node's next RPC the task is aborted, reported, and the other job runs on.
        #expect(
            try eventually(timeout: .seconds(90)) {
                try tasks().contains { $0["state"] == "aborted" && $0["reason"] == "aborted by the project" }
            },
            "\(daemon.process.standardError.suffix(3000))"
        )
        #expect(try tasks().filter { $0["state"] == "running" }.count == 1)
        let summary = try coordinator.summary()
        #expect(summary["cancelled"] == 1 && summary["running"] == 1, "\(summary)")
        let cancelled = try #require(try coordinator.jobs().first { $0["id"]?.integerValue == job })
        #expect(cancelled["results"]?.arrayValue?.first?["outcome"] == "aborted", "\(cancelled)")
        try daemon.stop()
    }
}
