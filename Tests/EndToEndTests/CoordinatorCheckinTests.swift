import OutpostClient
import OutpostRPC
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// outpost-coordinator and outpostd, both real: enrollment, metrics, lanes, the status table, offline and delete.
@Suite("coordinator check-in (real binaries)")
struct CoordinatorCheckinTests {
    static func nodeConfig(_ coordinator: Coordinator, tokenFile: String?, extra: String = "") -> String {
        """
        [lanes]
        count = 2
        check_interval_ms = 100
        [coordinator]
        url = "\(coordinator.url)"
        checkin_interval = 1
        \(tokenFile.map { "enrollment_token_file = \"\($0)\"" } ?? "")
        \(extra)
        """
    }

    static func memInfo(_ field: String) -> Int64 {
        for line in ((try? readFile("/proc/meminfo")) ?? "").split(separator: "\n") where line.hasPrefix(field + ":") {
            return (Int64(line.split(separator: " ", omittingEmptySubsequences: true)[1]) ?? 0) * 1024
        }
        return -1
    }

    static func coordinatorState(_ daemon: Daemon) throws -> JSONValue {
        let client = try daemon.client()
        _ = try client.call("superuser")
        return try client.call("getState")["coordinator"] ?? .null
    }

    @Test func aNodeEnrollsReportsItsMachineAndObeysItsStatus() throws {
        let coordinator = try Coordinator()
        let (_, tokenFile) = try coordinator.token()
        let daemon = try Daemon(config: Self.nodeConfig(coordinator, tokenFile: tokenFile))

        var server: JSONValue = .null
        #expect(
            try eventually {
                server = try coordinator.find("Client where type=1 and status=online").first ?? .null
                let lane = try coordinator.find("Client where type=5").first
                return server != .null && (lane?["benchmark"] ?? .null) != .null
            },
            "the node never appeared: \(daemon.process.standardError)"
        )
        let id = try #require(server["id"]?.stringValue)
        // Metrics against /proc.
        let metrics = try #require(server["metrics"])
        #expect(metrics["c"]?.integerValue == Int64(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        #expect(metrics["mpt"]?.integerValue == Self.memInfo("MemTotal"))
        #expect(metrics["mvt"]?.integerValue == Self.memInfo("SwapTotal"))
        let available = Double(Self.memInfo("MemAvailable"))
        let reportedFree = Double(metrics["mpf"]?.integerValue ?? -1)
        #expect(abs(reportedFree - available) / available < 0.1)
        #expect((0...100).contains(metrics["l"]?.numberValue ?? -1))
        #expect((0...100).contains(metrics["m"]?.numberValue ?? -1))
        #expect(server["wan_ip"] == "127.0.0.1")
        #expect(server["os"] == "linux")
        #expect(server["site_hr"] == "hq")
        let name = String(cString: getpwuid(geteuid()).pointee.pw_name)
        #expect(server["username"] == .string(name))
        // Lanes as type-5 clients with the node as parent.
        let lanes = try coordinator.find("Client where type=5")
        #expect(lanes.count == 2)
        #expect(lanes.allSatisfy { $0["parent"] == .string(id) && ($0["benchmark"]?.numberValue ?? 0) > 0 })
        #expect(try Self.coordinatorState(daemon)["clientId"] == .string(id))

        // Disabled: no new task starts; enabled again: it runs.
        #expect(try coordinator.cli(["clients", "disable", id]).status == 0)
        #expect(try eventually { try Self.coordinatorState(daemon)["status"] == "disabled" })
        let client = try daemon.client()
        _ = try client.call("superuser")
        let taskID = try client.call("submitTask", ["task": ["executable": "/bin/true"]])["taskId"]?.integerValue ?? 0
        usleep(1_500_000)
        #expect(try client.call("getState")["tasks"]?["\(taskID)"]?["state"] == "queued")
        #expect(try client.call("getState")["lanes"]?["0"]?["state"] == "held")
        #expect(try coordinator.cli(["clients", "enable", id]).status == 0)
        #expect(try eventually { try client.call("getState")["tasks"]?["\(taskID)"]?["state"] == "succeeded" })

        // The status table while online: each refusal names the transition.
        let again = try coordinator.cli(["clients", "enable", id])
        #expect(again.status == 1 && again.error.contains("online → online is refused"))
        #expect(try coordinator.cli(["clients", "disable", id]).status == 0)
        let twice = try coordinator.cli(["clients", "disable", id])
        #expect(twice.status == 1 && twice.error.contains("disabled → disabled is refused"))
        let online = try coordinator.cli(["clients", "delete", id])
        #expect(online.status == 1 && online.error.contains("only an offline client can be deleted"))

        // Stopped: offline after the grace, then the table while offline, then delete.
        #expect(try daemon.stop() == 0)
        #expect(try eventually { try coordinator.find("Client where id=\(id)").first?["status"] == "disabled-offline" })
        #expect(try coordinator.cli(["clients", "disable", id]).status == 1)
        #expect(try coordinator.cli(["clients", "enable", id]).status == 0)
        #expect(try coordinator.find("Client where id=\(id)").first?["status"] == "offline")
        #expect(try coordinator.cli(["clients", "enable", id]).status == 1)
        #expect(try coordinator.cli(["clients", "disable", id]).status == 0)
        #expect(try coordinator.find("Client where id=\(id)").first?["status"] == "disabled-offline")
        #expect(try coordinator.cli(["clients", "delete", id]).status == 0)
        #expect(try coordinator.find("Client").isEmpty)
    }

    @Test func anUnreachableCoordinatorLeavesTheNodeWorkingAndItEnrollsLater() throws {
        let coordinator = try Coordinator()
        let (_, tokenFile) = try coordinator.token()
        try coordinator.stop()
        let daemon = try Daemon(config: Self.nodeConfig(coordinator, tokenFile: tokenFile))
        #expect(try eventually { try Self.coordinatorState(daemon)["state"] == "unreachable" })
        let client = try daemon.client()
        _ = try client.call("superuser")
        let taskID = try client.call("submitTask", ["task": ["executable": "/bin/true"]])["taskId"]?.integerValue ?? 0
        #expect(try eventually { try client.call("getState")["tasks"]?["\(taskID)"]?["state"] == "succeeded" })

        try coordinator.start()
        // Back-off retries within 5 to 10 s of the first failures.
        #expect(
            try eventually(timeout: .seconds(30)) { try Self.coordinatorState(daemon)["status"] == "online" },
            "\(daemon.process.standardError)"
        )
        #expect(try daemon.stop() == 0)
    }

    @Test func aRevokedNodeSaysSoAndANewKeyEnrollsItAgain() throws {
        let coordinator = try Coordinator()
        let (_, tokenFile) = try coordinator.token()
        let directory = try TemporaryDirectory()
        let config = Self.nodeConfig(coordinator, tokenFile: tokenFile)
        var daemon = try Daemon(config: config, directory: directory)
        #expect(try eventually { try Self.coordinatorState(daemon)["status"] == "online" })
        let id = try #require(try Self.coordinatorState(daemon)["clientId"]?.stringValue)
        #expect(try daemon.stop() == 0)
        #expect(try eventually { try coordinator.find("Client where id=\(id)").first?["status"] == "offline" })
        #expect(try coordinator.cli(["clients", "delete", id]).status == 0)
        // The token file's token expires too: the node cannot quietly re-enroll.
        try writeFile(tokenFile, "expired-or-revoked\n", mode: 0o600)

        daemon = try Daemon(config: config, directory: directory)
        #expect(try eventually { try Self.coordinatorState(daemon)["state"] == "refused" })
        let state = try Self.coordinatorState(daemon)
        #expect(state["error"]?.stringValue?.contains("refused this node's check-in") == true)
        let status = try run(["status", "--socket", daemon.socketPath, "--superuser"])
        #expect(status.contains("Coordinator:") && status.contains("refused"))
        // No retry storm: it stays refused rather than asking again every second.
        usleep(2_500_000)
        #expect(try Self.coordinatorState(daemon)["state"] == "refused")

        // A bad key is refused with validate; a good one enrolls the node again.
        let client = try daemon.client()
        _ = try client.call("superuser")
        let bad = try client.call("setLicenseKeyAsync", ["key": "nonsense", "validate": true])["requestId"] ?? .null
        #expect(throws: ControlClientError.self) { _ = try client.call("getRequestResult", ["requestId": bad]) }
        let (token, _) = try coordinator.token()
        let good =
            try client.call("setLicenseKeyAsync", ["key": .string(token), "validate": true])["requestId"] ?? .null
        #expect(try client.call("getRequestResult", ["requestId": good])["site"] == "hq")
        #expect(try eventually { try Self.coordinatorState(daemon)["status"] == "online" })
        #expect(try Self.coordinatorState(daemon)["clientId"] != .string(id))
        #expect(try daemon.stop() == 0)
    }

    private func run(_ arguments: [String]) throws -> String {
        let directory = try TemporaryDirectory()
        let child = try ChildProcess(
            try BuiltProducts.path("outpostctl"),
            arguments,
            environment: ["PATH": "/usr/bin:/bin"],
            directory: directory
        )
        _ = try child.waitForExit(timeout: .seconds(10))
        return child.standardOutput + child.standardError
    }
}
