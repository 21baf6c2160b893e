import OutpostClient
import OutpostRPC
import OutpostState
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The lanes' control API over the real socket: the state stream, setState/setConfig validation, and outpostctl.
@Suite("lane control API (real binaries)")
struct LaneControlAPITests {
    static let config = "[lanes]\ncount = 2\ncheck_interval_ms = 100\nkill_grace = 1\n"

    @Test func aSubscriberHoldsWhatAFreshSnapshotShows() throws {
        let daemon = try Daemon(config: Self.config)
        let watcher = try daemon.client()
        _ = try watcher.call("superuser")
        var replica = try watcher.call("subscribeState")
        #expect(replica["info"]?["nodeId"] != nil && replica["config"]?["lanes"]?["count"] == 2)
        let control = try daemon.client()
        _ = try control.call("superuser")
        let script = "echo 0.5 > \"$OUTPOST_PROGRESS_FILE\"; sleep 0.4"
        let taskID =
            try control.call(
                "submitTask",
                ["task": ["executable": "/bin/sh", "arguments": ["-c", .string(script)], "name": "streamed"]]
            )["taskId"]?.integerValue ?? 0
        var sawProgress = false
        while replica["tasks"]?["\(taskID)"]?["state"] != "succeeded" {
            let message = try watcher.readMessage()
            #expect(message["id"] == nil, "only notifications arrive after the snapshot")
            if message["method"] == "stateSnapshot" {
                replica = message["params"] ?? [:]
            } else if message["method"] == "stateUpdate", let update = StateUpdate(json: message["params"] ?? []) {
                try replica.apply(update)
            }
            if replica["tasks"]?["\(taskID)"]?["progress"] == 0.5 { sawProgress = true }
        }
        #expect(sawProgress)
        // Let the lane go idle, drain what followed, then compare with a fresh snapshot.
        try #require(
            try eventually {
                try control.call("getState")["lanes"]?["0"]?["state"] == "idle"
                    && control.call("getState")["lanes"]?["1"]?["state"] == "idle"
            }
        )
        _ = try control.call("setState", ["state": "pause", "group": [0, 1]])
        let fresh = try control.call("getState")
        while replica["lanes"] != fresh["lanes"] || replica["tasks"] != fresh["tasks"] {
            let message = try watcher.readMessage()
            if let update = StateUpdate(json: message["params"] ?? []) { try replica.apply(update) }
        }
        #expect(replica["tasks"] == fresh["tasks"])
        #expect(try daemon.stop() == 0)
    }

    @Test func setStateAndSetConfigValidateTheirInput() throws {
        let daemon = try Daemon(config: Self.config)
        let client = try daemon.client()
        #expect(throws: ControlClientError.self) { try client.call("getState") }  // not yet superuser
        _ = try client.call("superuser")
        for (method, params, expected) in [
            ("setState", ["state": "nap"] as JSONValue, "state must be"),
            ("setState", ["state": "pause", "lane": 7], "there is no lane 7"),
            ("setConfig", ["lanes": ["bogus": 1]], "config.lanes has no key 'bogus'"),
            ("setConfig", ["lanes": ["count": -1]], "must be between 0 and 1024"),
            ("submitTask", ["task": ["executable": "relative/path"]], "must be an absolute path"),
            ("submitTask", ["task": ["executable": "/bin/true", "outputFiles": ["../escape"]]], "without '..'"),
            ("abortTask", ["taskId": 999], "task 999 does not exist"),
        ] {
            #expect {
                _ = try client.call(method, params)
            } throws: { error in
                "\(error)".contains(expected)
            }
        }
        let config = try client.call("setConfig", ["lanes": ["count": 3, "maxRuntime": 60]])
        #expect(config["lanes"]?["count"] == 3 && config["lanes"]?["maxRuntime"] == 60)
        #expect(try client.call("getState")["lanes"]?.objectValue?.count == 3)
        #expect(try daemon.stop() == 0)
    }

    @Test func outpostctlShowsAndControlsTheLanes() throws {
        let daemon = try Daemon(config: Self.config)
        let socket = ["--socket", daemon.socketPath]
        let submitted = try run(["submit", "--name", "sleeper"] + socket + ["--", "/bin/sleep", "30"], daemon)
        #expect(submitted.status == 0 && submitted.stdout == "task 1 queued\n")
        #expect(try eventually { try run(["status"] + socket, daemon).stdout.contains("running") })
        #expect(try run(["pause", "--lane", "0", "--lane", "1"] + socket, daemon).status == 0)
        let status = try run(["status"] + socket, daemon).stdout
        #expect(status.contains("LANE") && status.contains("sleeper") && status.contains("paused"))
        #expect(try run(["resume"] + socket, daemon).status == 0)
        #expect(try run(["abort", "1"] + socket, daemon).status == 0)
        #expect(try eventually { try run(["status"] + socket, daemon).stdout.contains("aborted") })
        let missing = try run(["abort", "42"] + socket, daemon)
        #expect(missing.status != 0 && missing.stderr.contains("task 42 does not exist"))
        #expect(try daemon.stop() == 0)
    }

    private func run(_ arguments: [String], _ daemon: Daemon) throws -> (status: Int32, stdout: String, stderr: String)
    {
        let process = try ChildProcess(
            try BuiltProducts.path("outpostctl"),
            arguments,
            environment: ["PATH": "/usr/bin:/bin"],
            directory: daemon.directory
        )
        let status = try process.waitForExit(timeout: .seconds(20))
        return (status, process.standardOutput, process.standardError)
    }
}
