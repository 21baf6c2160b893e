import OutpostLanes
import OutpostRPC
import OutpostState
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Real children, each misbehaving in one way; every one must end as specified and leave no process behind.
@Suite("task supervision", .serialized)
struct TaskSupervisionTests {
    @Test(arguments: Tracking.available)
    func aTaskRunsInItsSlotWithAScrubbedEnvironmentAndReportsProgress(tracking: Tracking) async throws {
        let harness = try LaneHarness(tracking: tracking)
        defer { harness.remove() }
        harness.start()
        let id = try await harness.submit(
            "echo 0.5 > \"$OUTPOST_PROGRESS_FILE\"; env | sort; pwd; echo oops >&2; echo result > out.txt",
            outputs: ["out.txt"]
        )
        // Lowest priority, no core dumps and the open-files limit, from the first instruction on.
        let limits = try await harness.submit("ulimit -c; nice; ulimit -n")
        let record = try await harness.waitUntilFinished(id)
        _ = try await harness.waitUntilFinished(limits)
        try await harness.stop()
        #expect(record.state == .succeeded, "\(record.reason ?? "")")
        #expect(record.exitStatus == 0)
        #expect(record.stderrTail == "oops\n")
        let output = harness.read("\(harness.directory)/tasks/\(id)/stdout")
        #expect(output.contains("OUTPOST_TASK=\(harness.nodeID)/\(id)\n"))
        #expect(output.contains("OUTPOST_TASK_ID=\(id)\n"))
        #expect(output.contains("OMP_NUM_THREADS=1\n"))
        #expect(output.contains(harness.slot(id) + "\n"))
        for scrubbed in ["NOTIFY_SOCKET", "WATCHDOG_", "LISTEN_", "JOURNAL_STREAM", "INVOCATION_ID"] {
            #expect(!output.contains(scrubbed))
        }
        #expect(harness.read(harness.slot(id) + "/out.txt") == "result\n")
        #expect(harness.read("\(harness.directory)/tasks/\(limits)/stdout") == "0\n19\n4096\n")
    }

    @Test func aMissingOutputFileOrANonZeroExitFailsTheTask() async throws {
        let harness = try LaneHarness()
        defer { harness.remove() }
        harness.start()
        let missing = try await harness.submit("true", outputs: ["result.dat"])
        let failing = try await harness.submit("exit 3")
        let notFound = try await harness.supervisor.submit(TaskSpecification(executable: "/nonexistent/program")).id!
        let first = try await harness.waitUntilFinished(missing)
        let second = try await harness.waitUntilFinished(failing)
        let third = try await harness.waitUntilFinished(notFound)
        try await harness.stop()
        #expect(first.state == .failed)
        #expect(first.reason?.contains("did not create its output file result.dat") == true)
        #expect(second.state == .failed && second.exitStatus == 3 && second.reason == "exited with status 3")
        #expect(third.state == .failed)
        #expect(third.reason?.contains("cannot start /nonexistent/program") == true)
    }

    @Test func inputFilesArriveInTheSlotAndAMissingOneFailsTheTaskWithItsPath() async throws {
        let harness = try LaneHarness()
        defer { harness.remove() }
        let input = harness.directory + "/input.txt"
        let file = fopen(input, "w")
        fputs("payload\n", file)
        fclose(file)
        harness.start()
        let read = try await harness.supervisor.submit(
            TaskSpecification(
                executable: "/bin/sh",
                arguments: ["-c", "cat data/in.txt > out"],
                inputFiles: [.init(source: input, name: "data/in.txt")],
                outputFiles: ["out"]
            )
        ).id!
        let missing = try await harness.supervisor.submit(
            TaskSpecification(executable: "/bin/true", inputFiles: [.init(source: "/nonexistent/in", name: "in")])
        ).id!
        let readRecord = try await harness.waitUntilFinished(read)
        let missingRecord = try await harness.waitUntilFinished(missing)
        try await harness.stop()
        #expect(readRecord.state == .succeeded, "\(readRecord.reason ?? "")")
        #expect(harness.read(harness.slot(read) + "/out") == "payload\n")
        #expect(missingRecord.state == .failed)
        #expect(
            missingRecord.reason
                == "cannot prepare the slot directory: cannot read the input file /nonexistent/in: No such file or directory"
        )
    }

    @Test(arguments: Tracking.available)
    func aChildThatIgnoresSIGTERMIsKilledAtItsMaximumRuntime(tracking: Tracking) async throws {
        let harness = try LaneHarness(tracking: tracking)
        defer { harness.remove() }
        harness.start()
        let id = try await harness.submit(
            "trap '' TERM; echo $$ > pid; while :; do sleep 0.05; done",
            limits: TaskLimits(maxRuntimeSeconds: 1)
        )
        let record = try await harness.waitUntilFinished(id)
        try await harness.stop()
        #expect(record.state == .failed)
        #expect(record.reason == "exceeded its maximum runtime of 1 s")
        #expect(record.signal == SIGKILL)
        let pid = Int32(harness.read(harness.slot(id) + "/pid").filter(\.isNumber)) ?? 0
        #expect(pid > 0 && !LaneHarness.isAlive(pid))
        #expect(harness.leftovers.isEmpty)
    }

    @Test(arguments: Tracking.available)
    func grandchildrenThatOutliveTheTaskAreEnded(tracking: Tracking) async throws {
        let harness = try LaneHarness(tracking: tracking)
        defer { harness.remove() }
        harness.start()
        // One grandchild stays in the session; one leaves it with setsid (found by its environment marker).
        let id = try await harness.submit(
            "sleep 1000 & echo $! > pids; setsid sh -c 'echo $$ >> pids; exec sleep 1000' & sleep 0.3; exit 0"
        )
        let record = try await harness.waitUntilFinished(id)
        try await harness.stop()
        #expect(record.state == .succeeded)
        let pids = harness.read(harness.slot(id) + "/pids").split(separator: "\n").compactMap { Int32($0) }
        #expect(pids.count == 2)
        for pid in pids { #expect(!LaneHarness.isAlive(pid), "grandchild \(pid) survived") }
        #expect(harness.leftovers.isEmpty)
    }

    /// What only a cgroup finds: a grandchild that left the session and cleared its environment (no marker).
    @Test(.enabled(if: Tracking.cgroupsAvailable))
    func aGrandchildThatLeftTheSessionAndClearedItsEnvironmentIsEndedWithItsCgroup() async throws {
        let harness = try LaneHarness(tracking: .cgroup)
        defer { harness.remove() }
        harness.start()
        let id = try await harness.submit(
            "setsid env -i /bin/sh -c 'echo $$ > hidden; trap \"\" TERM; exec sleep 1000' & sleep 0.3; exit 0"
        )
        let record = try await harness.waitUntilFinished(id)
        let pid = Int32(harness.read(harness.slot(id) + "/hidden").filter(\.isNumber)) ?? 0
        try await harness.waitUntil("the hidden grandchild to be killed") { !LaneHarness.isAlive(pid) }
        try await harness.stop()
        #expect(record.state == .succeeded)
        #expect(pid > 0)
        #expect(harness.leftovers.isEmpty)
        // The task's cgroup is gone with its processes.
        #expect(access(harness.cgroups!.path(taskID: id), F_OK) != 0)
    }

    /// What a task's record shows when `outpost-launch` itself fails: its exit status (125 its own failure, 127 the
    /// task not executable) and its one-line reason on stderr, which becomes the record's reason.
    @Test(.enabled(if: ExecutionSettings.installedLauncher() != nil))
    func outpostLaunchSaysWhyItCouldNotStartATask() async throws {
        let launcher = ExecutionSettings.installedLauncher()!
        let harness = try LaneHarness(tracking: .session)
        defer { harness.remove() }
        let log = harness.directory + "/launch.log"
        let script = """
            \(launcher) /nonexistent/cgroup.procs 64 -1 19 -- /bin/true 2>>\(log); echo "status $?" >>\(log)
            \(launcher) - 64 -1 19 -- /nonexistent/program 2>>\(log); echo "status $?" >>\(log)
            \(launcher) - many -1 19 -- /bin/true 2>>\(log); echo "status $?" >>\(log)
            """
        var status: Int32 = 0
        waitpid(try LaneControlTests.spawn(["/bin/sh", "-c", script], environment: []), &status, 0)
        let lines = harness.read(log).split(separator: "\n").map(String.init)
        #expect(
            lines == [
                "outpost-launch: cannot join the cgroup /nonexistent/cgroup.procs: No such file or directory",
                "status 125",
                "outpost-launch: cannot execute /nonexistent/program: No such file or directory",
                "status 127",
                "usage: outpost-launch CGROUP_PROCS|- OPEN_FILES CPU_SECONDS NICE -- EXECUTABLE [ARGUMENT...]",
                "status 125",
            ]
        )
        // The lane turns such a line into the task's reason.
        harness.start()
        let id = try await harness.submit(
            "echo 'outpost-launch: cannot set RLIMIT_CPU: Operation not permitted' >&2; exit 125"
        )
        let record = try await harness.waitUntilFinished(id)
        try await harness.stop()
        #expect(record.state == .failed)
        #expect(record.reason == "could not be started: cannot set RLIMIT_CPU: Operation not permitted")
    }

    /// The task is in its lane's cgroup from its first instruction, so whatever it forks at once is in there too.
    @Test(.enabled(if: Tracking.cgroupsAvailable))
    func aTaskIsInItsLanesCgroupFromItsFirstInstruction() async throws {
        let harness = try LaneHarness(tracking: .cgroup)
        defer { harness.remove() }
        harness.start()
        let id = try await harness.submit("cat /proc/self/cgroup > first; sleep 0.1")
        let record = try await harness.waitUntilFinished(id)
        try await harness.stop()
        #expect(record.state == .succeeded, "\(record.reason ?? "")")
        let line = harness.read(harness.slot(id) + "/first").split(separator: "\n").first { $0.hasPrefix("0::") }
        let expected = "/outpost-\(harness.nodeID)/lane-\(record.lane ?? -1)"
        #expect(line?.hasSuffix(expected) == true, "\(line ?? "no cgroup v2 line")")
        // A graceful stop leaves no cgroup behind.
        #expect(access(harness.cgroups!.directory, F_OK) != 0)
    }

    /// A process still in the lane's cgroup (one that outlived its task, stuck in the kernel) is not the next task's:
    /// that task gets a cgroup of its own, and its end leaves the other process alone.
    @Test(.enabled(if: Tracking.cgroupsAvailable))
    func aTaskDoesNotShareItsLanesCgroupWithAnEarlierProcess() async throws {
        let harness = try LaneHarness(tracking: .cgroup)
        defer { harness.remove() }
        harness.start()
        let first = try await harness.submit("true")
        _ = try await harness.waitUntilFinished(first)
        let cgroups = try #require(harness.cgroups)
        let lingering = try LaneControlTests.spawn(["/bin/sleep", "1000"], environment: [])
        func reap() {
            kill(lingering, SIGKILL)
            var status: Int32 = 0
            waitpid(lingering, &status, 0)
        }
        defer { reap() }
        let lane = cgroups.path(lane: 0)
        cgroups.add(lingering, to: lane)
        #expect(cgroups.members(lane).map(\.pid) == [lingering])
        let second = try await harness.submit("cat /proc/self/cgroup > first")
        let record = try await harness.waitUntilFinished(second)
        #expect(record.state == .succeeded, "\(record.reason ?? "")")
        let line = harness.read(harness.slot(second) + "/first").split(separator: "\n").first { $0.hasPrefix("0::") }
        #expect(line?.hasSuffix("/outpost-\(harness.nodeID)/task-\(second)") == true, "\(line ?? "no cgroup v2 line")")
        #expect(LaneHarness.isAlive(lingering))
        #expect(access(cgroups.path(taskID: second), F_OK) != 0, "a task's own cgroup goes with the task")
        reap()  // before the stop, so that the lane's cgroup is empty and goes with it
        try await harness.stop()
    }

    @Test func aFloodOfStandardOutputIsCappedAndTheTaskCompletes() async throws {
        let harness = try LaneHarness()
        defer { harness.remove() }
        harness.start()
        let started = ContinuousClock.now
        let id = try await harness.submit("head -c 1073741824 /dev/zero")
        let record = try await harness.waitUntilFinished(id, timeout: .seconds(120))
        try await harness.stop()
        #expect(record.state == .succeeded)
        var status = stat()
        stat("\(harness.directory)/tasks/\(id)/stdout", &status)
        #expect(status.st_size == 1 << 20)
        #expect(record.reason == "stdout was capped at 1048576 bytes (1072693248 more dropped)")
        print("1 GiB of stdout took \(ContinuousClock.now - started)")
    }

    @Test(arguments: Tracking.available)
    func aTaskOverItsMemoryLimitIsEnded(tracking: Tracking) async throws {
        let harness = try LaneHarness(tracking: tracking)
        defer { harness.remove() }
        harness.start()
        // `tail` keeps a line in memory until its newline, and /dev/zero has none: it grows without bound.
        let id = try await harness.submit(
            "head -c 2000000000 /dev/zero | tail -n 1 > /dev/null",
            limits: TaskLimits(memoryLimitBytes: 64 << 20)
        )
        let record = try await harness.waitUntilFinished(id)
        try await harness.stop()
        #expect(record.state == .failed)
        #expect(record.reason?.hasPrefix("exceeded its memory limit") == true, "\(record.reason ?? "")")
        #expect(harness.leftovers.isEmpty)
    }

    @Test(arguments: Tracking.available)
    func aTaskThatNeverEndsIsAbortedAndPausedTasksStopAndResume(tracking: Tracking) async throws {
        let harness = try LaneHarness(tracking: tracking)
        defer { harness.remove() }
        harness.start()
        let id = try await harness.submit("echo $$ > pid; exec sleep 1000")
        var pid: Int32 = 0
        try await harness.waitUntil("the task's pid") {
            pid = Int32(harness.read(harness.slot(id) + "/pid").filter(\.isNumber)) ?? 0
            return pid > 0
        }
        try await harness.supervisor.setMode(.pause, lanes: nil)
        try await harness.waitUntil("the task to stop") { Self.processState(pid) == "T" }
        #expect(harness.publisher.state.value(at: ["tasks", "\(id)", "state"]) == "paused")
        #expect(harness.publisher.state.value(at: ["lanes", "0", "state"]) == "paused")
        try await harness.supervisor.setMode(.fold, lanes: [0])
        try await harness.waitUntil("the task to continue") { Self.processState(pid) == "S" }
        try await harness.supervisor.abort(taskID: id, reason: "aborted by the test")
        let record = try await harness.waitUntilFinished(id)
        try await harness.stop()
        #expect(record.state == .aborted)
        #expect(record.reason == "aborted by the test")
        #expect(!LaneHarness.isAlive(pid))
        await #expect(throws: LaneError.self) { try await harness.supervisor.abort(taskID: id, reason: "again") }
    }

    static func processState(_ pid: Int32) -> Character? {
        guard let file = fopen("/proc/\(pid)/stat", "r") else { return nil }
        defer { fclose(file) }
        var buffer = [UInt8](repeating: 0, count: 512)
        let count = fread(&buffer, 1, 512, file)
        let text = String(decoding: buffer[..<count], as: UTF8.self)
        guard let close = text.lastIndex(of: ")") else { return nil }
        return text[text.index(close, offsetBy: 2)]
    }
}
