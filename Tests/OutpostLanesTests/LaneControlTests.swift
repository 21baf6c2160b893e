import OutpostLanes
import OutpostRPC
import OutpostState
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A work source that hands out a fixed list of tasks and records what comes back.
final class ListWorkSource: WorkSource {
    let name = "test-source"
    private let queue: Mutex<[WorkItem]>
    let reported = Mutex<[TaskResult]>([])
    /// Reports fail while this is above zero (a server that is down), counting down.
    let failingReports = Mutex(0)

    init(_ items: [WorkItem]) {
        queue = Mutex(items)
    }

    func fetchWork(idleLanes: Int) async throws -> WorkFetch {
        let items = queue.withLock { queue in
            let taken = Array(queue.prefix(idleLanes))
            queue.removeFirst(taken.count)
            return taken
        }
        return WorkFetch(items: items, retryAfter: .milliseconds(100))
    }

    func report(_ result: TaskResult) async throws {
        let fail = failingReports.withLock { count in
            defer { count = max(0, count - 1) }
            return count > 0
        }
        if fail { throw TestFailure("the server is down") }
        reported.withLock { $0.append(result) }
    }
}

@Suite("lane control", .serialized)
struct LaneControlTests {
    @Test func workFromASourceRunsAndEveryResultIsReportedOnceEvenAfterFailedReports() async throws {
        let items = (0..<6).map { index in
            WorkItem(
                specification: TaskSpecification(
                    executable: "/bin/sh",
                    arguments: ["-c", "echo \(index) > out"],
                    outputFiles: ["out"]
                ),
                reference: "result_\(index)"
            )
        }
        let source = ListWorkSource(items)
        source.failingReports.withLock { $0 = 2 }
        let harness = try LaneHarness(lanes: 2, workSources: [source])
        defer { harness.remove() }
        harness.start()
        try await harness.waitUntil("six reports", timeout: .seconds(60)) {
            source.reported.withLock { $0.count } == 6
        }
        try await harness.stop()
        let reported = source.reported.withLock { $0 }
        #expect(Set(reported.compactMap(\.reference)) == Set((0..<6).map { "result_\($0)" }))
        #expect(reported.allSatisfy { $0.state == .succeeded && $0.outputFiles.count == 1 })
        #expect(try await harness.store.unreported(source: source.name).isEmpty)
    }

    @Test func aWorkSourceThatIsDownIsAskedLessOftenAndLocalTasksStillRun() async throws {
        final class DownSource: WorkSource {
            let name = "down"
            let attempts = Mutex(0)
            func fetchWork(idleLanes: Int) async throws -> WorkFetch {
                attempts.withLock { $0 += 1 }
                throw TestFailure("connection refused")
            }
            func report(_ result: TaskResult) async throws {}
        }
        let source = DownSource()
        let harness = try LaneHarness(workSources: [source])
        defer { harness.remove() }
        harness.start()
        let local = try await harness.submit("true")
        let record = try await harness.waitUntilFinished(local)
        try await Task.sleep(for: .seconds(3))
        try await harness.stop()
        #expect(record.state == .succeeded)
        // The first failure waits 10 s before the next try: a vanished server is not hammered.
        #expect(source.attempts.withLock { $0 } == 1)
    }

    @Test func finishCompletesTheRunningTaskThenPausesAndShrinkingWaitsForTheTask() async throws {
        let harness = try LaneHarness(lanes: 2)
        defer { harness.remove() }
        harness.start()
        let long = try await harness.submit("sleep 0.5")
        try await harness.waitUntil("the task to run") {
            try await harness.store.task(long)?.state == .running
        }
        try await harness.supervisor.setMode(.finish, lanes: nil)
        let queued = try await harness.submit("true")
        let record = try await harness.waitUntilFinished(long)
        #expect(record.state == .succeeded)
        try await harness.waitUntil("every lane to pause") {
            let lanes = harness.publisher.state["lanes"]?.objectValue ?? [:]
            return lanes.values.allSatisfy { $0["mode"] == "pause" }
        }
        #expect(try await harness.store.task(queued)?.state == .queued)

        // Shrink to one lane while a task runs on lane 1: lane 1 stays until its task is done.
        try await harness.supervisor.setMode(.fold, lanes: nil)
        _ = try await harness.waitUntilFinished(queued)
        var configuration = await harness.supervisor.configuration
        let busy = try await harness.submit("sleep 0.6")
        try await harness.waitUntil("the task to run") { try await harness.store.task(busy)?.state == .running }
        let busyLane = try #require(try await harness.store.task(busy)?.lane)
        configuration.count = 1
        try await harness.supervisor.reconfigure(configuration)
        if busyLane == 1 {
            #expect(harness.publisher.state.value(at: ["lanes", "1", "state"]) == "removing")
        }
        _ = try await harness.waitUntilFinished(busy)
        try await harness.waitUntil("one lane left") { await harness.supervisor.laneIDs.count == 1 }
        configuration.count = 3
        try await harness.supervisor.reconfigure(configuration)
        #expect(await harness.supervisor.laneIDs.count == 3)
        try await harness.stop()
        #expect((harness.publisher.state["lanes"]?.objectValue ?? [:]).count == 3)
    }

    /// With cgroups the dead daemon's process is found in its task's cgroup (it carries no marker here); without,
    /// by its marker.
    @Test(arguments: Tracking.available)
    func aRestartEndsTheDeadDaemonsProcessesAndRerunsItsTaskInTheSameSlot(tracking: Tracking) async throws {
        // A previous run of the daemon: the task was claimed and started, and the daemon died.
        let first = try LaneHarness(tracking: tracking)
        let id = try await first.store.insert(
            TaskSpecification(
                executable: "/bin/sh",
                arguments: [
                    "-c", "if [ -f checkpoint ]; then echo resumed > out; else touch checkpoint; sleep 1000; fi",
                ],
                outputFiles: ["out"]
            )
        ).id!
        _ = try first.store.claimNext(lane: 0)
        mkdir("\(first.directory)/tasks/\(id)", 0o700)
        mkdir(first.slot(id), 0o700)
        // Its process, still running (in its cgroup, or with the marker), as after kill -9 of outpostd.
        let script = ["/bin/sh", "-c", "cd \(first.slot(id)) && touch checkpoint && exec sleep 1000"]
        let stray: pid_t
        if let cgroups = first.cgroups, let launcher = ExecutionSettings.installedLauncher() {
            // The lane that claimed it (lane 0) ran it in its cgroup.
            mkdir(cgroups.path(lane: 0), 0o755)
            let procs = cgroups.path(lane: 0) + "/cgroup.procs"
            stray = try Self.spawn([launcher, procs, "-1", "-1", "0", "--"] + script, environment: [])
        } else {
            stray = try Self.spawn(script, environment: ["OUTPOST_TASK=\(first.nodeID)/\(id)"])
        }
        defer { first.remove() }
        // The dead daemon's task had made its checkpoint: wait for the stray to get that far, or a busy machine lets
        // the new daemon end it first and the rerun would start from scratch (and sleep).
        try await first.waitUntil("the stray's checkpoint") { access(first.slot(id) + "/checkpoint", F_OK) == 0 }
        let second = try LaneHarness(directory: first.directory, nodeID: first.nodeID, tracking: tracking)
        second.start()
        let record = try await second.waitUntilFinished(id)
        try await second.stop()
        var status: Int32 = 0
        waitpid(stray, &status, 0)
        #expect(!LaneHarness.isAlive(stray))
        #expect(record.state == .succeeded)
        #expect(record.attempts == 2)
        #expect(second.read(second.slot(id) + "/out") == "resumed\n")
    }

    @Test func aTaskInterruptedMoreThanMaxRestartsTimesFails() async throws {
        let harness = try LaneHarness(configure: { $0.maxRestarts = 1 })
        defer { harness.remove() }
        let id = try await harness.store.insert(TaskSpecification(executable: "/bin/true")).id!
        for _ in 0..<2 {
            _ = try harness.store.claimNext(lane: 0)
            _ = try await harness.store.recoverInterrupted(maxAttempts: 100)
        }
        _ = try harness.store.claimNext(lane: 0)
        harness.start()
        let record = try await harness.waitUntilFinished(id)
        try await harness.stop()
        #expect(record.state == .failed)
        #expect(record.reason?.contains("max_restarts") == true)
    }

    static func spawn(_ words: [String], environment: [String]) throws -> pid_t {
        let argv: [UnsafeMutablePointer<CChar>?] = words.map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup($0) } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        guard posix_spawn(&pid, words[0], nil, nil, argv, envp) == 0 else { throw TestFailure("spawn failed") }
        return pid
    }
}
