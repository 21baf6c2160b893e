import OutpostClient
import OutpostRPC
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// outpostd killed with SIGKILL at random moments while tasks start, run and finish.
@Suite("lanes survive kill -9")
struct LaneCrashTests {
    static let config = """
        [lanes]
        count = 2
        max_restarts = 1000
        kill_grace = 1
        check_interval_ms = 100
        """

    @Test func everyTaskEndsOnceAndNoResultIsLostAcrossKills() throws {
        let directory = try TemporaryDirectory()
        let locks = directory.file("locks")
        mkdir(locks, 0o700)
        var daemon = try Daemon(config: Self.config, directory: directory)
        let nodeID = try daemon.client().call("getServerInfo")["nodeId"]?.stringValue ?? ""
        // Each run takes an exclusive lock for its task: a second copy running at the same time cannot get it and
        // says so. A run that completes writes its output; a killed run leaves a checkpoint the next one sees.
        let script = """
            exec 9>>"\(locks)/$OUTPOST_TASK_ID.lock"
            if ! flock -n 9; then echo "$OUTPOST_TASK_ID" >> "\(locks)/twice"; exit 1; fi
            echo run >> "\(locks)/$OUTPOST_TASK_ID.runs"
            sleep 0.$((RANDOM % 4 + 1))
            echo done > out
            """
        let taskCount = 16
        let client = try daemon.client()
        _ = try client.call("superuser")
        for _ in 0..<taskCount {
            _ = try client.call(
                "submitTask",
                ["task": ["executable": "/bin/sh", "arguments": ["-c", .string(script)], "outputFiles": ["out"]]]
            )
        }
        var finishedBefore: [String: JSONValue] = [:]
        for _ in 0..<5 {
            usleep(UInt32.random(in: 100_000...900_000))
            // What was already finished must still be finished, unchanged, after the crash.
            let state = try Self.state(daemon)
            for (id, task) in state["tasks"]?.objectValue ?? [:] where task["finished"] != nil {
                finishedBefore[id] = task
            }
            daemon.process.signal(SIGKILL)
            _ = try daemon.process.waitForExit(timeout: .seconds(10))
            daemon = try Daemon(config: Self.config, directory: directory)
        }
        var final: JSONValue = [:]
        let done = try eventually(timeout: .seconds(60)) {
            final = try Self.state(daemon)
            let tasks = final["tasks"]?.objectValue ?? [:]
            return tasks.count == taskCount && tasks.values.allSatisfy { $0["finished"] != nil }
        }
        #expect(done, "not every task finished: \(final["tasks"] ?? [:])")
        let tasks = final["tasks"]?.objectValue ?? [:]
        for (id, task) in tasks {
            #expect(task["state"] == "succeeded", "task \(id): \(task)")
            #expect(task["reported"] == true)
            #expect(try readFile(directory.file("state/tasks/\(id)/slot/out")) == "done\n")
        }
        for (id, before) in finishedBefore {
            #expect(tasks[id]?["finished"] == before["finished"], "task \(id) finished again after a crash")
        }
        #expect(
            !fileExists("\(locks)/twice"),
            "a task ran twice at the same time: \((try? readFile("\(locks)/twice")) ?? "")"
        )
        let lanes = final["lanes"]?.objectValue ?? [:]
        #expect(lanes.count == 2 && lanes.values.allSatisfy { $0["state"] == "idle" })
        try daemon.stop()
        #expect(Self.processesCarrying("OUTPOST_TASK=\(nodeID)/").isEmpty)
    }

    static func state(_ daemon: Daemon) throws -> JSONValue {
        let client = try daemon.client()
        _ = try client.call("superuser")
        return try client.call("getState")
    }

    /// Processes whose environment has an entry starting with `prefix`.
    static func processesCarrying(_ prefix: String) -> [Int32] {
        guard let directory = opendir("/proc") else { return [] }
        defer { closedir(directory) }
        var found: [Int32] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) {
                String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            guard let pid = Int32(name), let environment = try? readFile("/proc/\(pid)/environ") else { continue }
            if environment.split(separator: "\0").contains(where: { $0.hasPrefix(prefix) }) { found.append(pid) }
        }
        return found
    }
}
