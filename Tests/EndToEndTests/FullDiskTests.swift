import OutpostClient
import OutpostRPC
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A node whose state directory fills up in the middle of a download: the daemon carries on, the job waits, and once
/// space is back the download resumes and the job is done exactly once. The state directory is a small tmpfs, which
/// needs root (CI runs as root); elsewhere the test is skipped.
@Suite("full disk (real binaries, tmpfs)", .serialized)
struct FullDiskTests {
    static func run(_ arguments: [String], in directory: TemporaryDirectory) throws -> Int32 {
        let child = try ChildProcess(arguments[0], Array(arguments.dropFirst()), environment: [:], directory: directory)
        return try child.waitForExit(timeout: .seconds(30))
    }

    @Test(.enabled(if: geteuid() == 0, "mounting a tmpfs needs root"))
    func aDownloadThatFillsTheDiskWaitsAndResumesWithoutLoss() throws {
        let coordinator = try Coordinator(checkinInterval: 1, offlineGrace: 30, extra: Coordinator.projectSettings)
        try coordinator.addApp()
        let input = String(repeating: "outpost full disk\n", count: 6 << 16)  // 7 MiB
        try coordinator.submit(input: input, count: 1)
        let (_, tokenFile) = try coordinator.token()

        let directory = try TemporaryDirectory()
        let state = directory.file("state")
        mkdir(state, 0o700)
        let mounted = try Self.run(
            ["/bin/mount", "-t", "tmpfs", "-o", "size=32m,mode=0700", "tmpfs", state],
            in: directory
        )
        try #require(mounted == 0, "cannot mount a tmpfs")
        defer { _ = try? Self.run(["/bin/umount", "-l", state], in: directory) }
        // Leave about 3 MiB free: the daemon's databases fit, the 7 MiB input does not.
        let filler = state + "/filler"
        try writeFile(filler, String(repeating: "\0", count: 29 << 20))

        let daemon = try Daemon(
            config: SchedulerWorkTests.nodeConfig(coordinator, tokenFile: tokenFile),
            directory: directory
        )
        #expect(
            try eventually(timeout: .seconds(60)) {
                daemon.process.standardError.contains("No space left on device")
            },
            "\(daemon.process.standardError.suffix(3000))"
        )
        // Still answering, and the job not lost: it waits on the node.
        let client = try daemon.client()
        #expect(try client.call("echo", ["text": "alive"]) == "alive")
        #expect(try coordinator.summary()["done"] ?? 0 == 0)

        unlink(filler)
        #expect(
            try eventually(timeout: .seconds(120)) { (try coordinator.summary()["done"] ?? 0) == 1 },
            "\(daemon.process.standardError.suffix(3000))"
        )
        try SchedulerWorkTests.expectDoneExactlyOnce(
            try coordinator.jobs(),
            coordinator: coordinator,
            expected: input.uppercased()
        )
        #expect(try daemon.stop() == 0)
    }
}
