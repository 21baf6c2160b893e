import OutpostClient
import OutpostRPC
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A lane task gets no capability from the daemon, whatever the daemon holds (root here, as CI runs it).
@Suite("lane tasks run without capabilities (real binaries)")
struct TaskPrivilegeTests {
    @Test("a task's /proc/self/status shows every capability set empty and no-new-privileges set")
    func noCapabilities() throws {
        let daemon = try Daemon(config: "[lanes]\ncount = 1\ncheck_interval_ms = 100\n")
        let client = try daemon.client()
        _ = try client.call("superuser")
        let report = daemon.directory.file("status.txt")
        let script = "grep -E '^(Cap|NoNewPrivs)' /proc/self/status > \(report)"
        let taskID =
            try client.call(
                "submitTask",
                ["task": ["executable": "/bin/sh", "arguments": ["-c", .string(script)]]]
            )["taskId"]?.integerValue ?? 0
        #expect(try eventually { try client.call("getState")["tasks"]?["\(taskID)"]?["state"] == "succeeded" })
        let lines = try readFile(report).split(separator: "\n")
        #expect(lines.count == 6, "\(lines)")
        for line in lines where line.hasPrefix("Cap") {
            #expect(line.hasSuffix("0000000000000000"), "\(line)")
        }
        #expect(lines.contains { $0.hasPrefix("NoNewPrivs:") && $0.hasSuffix("1") })
        #expect(try daemon.stop() == 0)
    }
}
