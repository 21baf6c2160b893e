import CLinuxShims
import Subprocess
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// How tasks are run, the same for every task of a node.
public struct ExecutionSettings: Sendable {
    /// The node id, part of each task's process marker.
    public var nodeID: String
    /// Each of stdout and stderr stops growing at this size; the rest is dropped and counted.
    public var outputCapacity: Int64 = 64 << 20
    /// How much of the end of stderr the result report carries.
    public var stderrTailBytes = 64 << 10
    /// How often limits and progress of the running tasks are checked.
    public var checkInterval: Duration = .seconds(1)
    /// Between SIGTERM and SIGKILL.
    public var killGrace: Duration = .seconds(10)
    /// The tasks' nice value (19, the lowest priority, by default).
    public var niceness: Int32 = 19
    /// RLIMIT_NOFILE of a task.
    public var openFiles: Int64 = 4096
    /// `outpost-launch`, which puts a task in its cgroup and sets its limits before exec'ing it; nil when it is not
    /// installed (then util-linux's `prlimit` and coreutils' `nice` set the limits, and the cgroup is joined just
    /// after the spawn).
    public var launcher: String?
    /// Each task in a cgroup of its own; nil: tasks are tracked by session and marker.
    public var cgroups: TaskCgroups?

    public init(nodeID: String) {
        self.nodeID = nodeID
    }

    /// `outpost-launch` beside the running program (a build directory), or in `../libexec/outpost/` relative to it
    /// (`make install`); nil when neither is there.
    public static func installedLauncher() -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard length > 0 else { return nil }
        let program = String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard let slash = program.lastIndex(of: "/") else { return nil }
        let directory = String(program[..<slash])
        return [directory + "/outpost-launch", directory + "/../libexec/outpost/outpost-launch"]
            .first { access($0, X_OK) == 0 }
    }
}

/// The limits one run is held to: the task's own or its lane's, whichever is smaller.
public struct EffectiveLimits: Sendable, Equatable {
    public var maxRuntimeSeconds: Int64?
    public var memoryLimitBytes: Int64?

    public init(task: TaskLimits, laneMaxRuntime: Int64?, laneMemoryLimit: Int64?) {
        maxRuntimeSeconds = Self.smaller(task.maxRuntimeSeconds, laneMaxRuntime)
        memoryLimitBytes = Self.smaller(task.memoryLimitBytes, laneMemoryLimit)
    }

    private static func smaller(_ a: Int64?, _ b: Int64?) -> Int64? {
        switch (a, b) {
        case (let a?, let b?): min(a, b)
        case (let a?, nil): a
        case (nil, let b): b
        }
    }
}

/// Runs one attempt of a task to its end: spawns it in a new session (swift-subprocess), applies its limits, copies
/// its output into capped files, watches runtime, memory and progress, obeys its `TaskControl`, and when the task's
/// main process is gone ends every process the task left behind. It never throws: every way a run can end is a
/// `TaskOutcome` with a reason.
struct TaskExecution {
    let taskID: Int64
    let specification: TaskSpecification
    let directory: TaskDirectory
    let limits: EffectiveLimits
    let cpus: Int
    let settings: ExecutionSettings
    let control: TaskControl
    /// Emptied task directories to take instead of making new ones.
    var spares: SpareTaskDirectories?

    private struct StreamSummary: Sendable {
        var isError: Bool
        var written: Int64
        var dropped: Int64
        var tail: String
    }

    /// - Parameters:
    ///   - onStarted: called with the pid and its start time once the process exists (the store records them);
    ///     if it throws, the task is ended.
    ///   - onProgress: at each check, the progress fraction (nil until the task writes one) and runtime seconds.
    func run(
        onStarted: @Sendable (Int32, Int64) async throws -> Void,
        onProgress: @Sendable @escaping (Double?, Double) -> Void
    ) async -> TaskOutcome {
        do {
            try directory.prepare(inputs: specification.inputFiles, spares: spares)
        } catch {
            return TaskOutcome(state: .failed, reason: "cannot prepare the slot directory: \(error)")
        }
        let environment = TaskEnvironment.make(
            specification: specification,
            taskID: taskID,
            marker: control.marker,
            slotDirectory: directory.slot,
            progressFile: directory.progressFile,
            cpus: cpus
        )
        var options = PlatformOptions()
        options.createSession = true
        guard access(specification.executable, X_OK) == 0 else {
            return TaskOutcome(
                state: .failed,
                reason: "cannot start \(specification.executable): \(String(cString: strerror(errno)))"
            )
        }
        let cgroupProcs = control.prepareCgroup()
        let launch = launchCommand(cgroupProcs: cgroupProcs)
        let configuration = Configuration(
            executable: .path(FilePath(launch.executable)),
            arguments: Arguments(launch.arguments),
            environment: .custom(
                Dictionary(uniqueKeysWithValues: environment.map { (.init(rawValue: $0.key)!, $0.value) })
            ),
            workingDirectory: FilePath(directory.slot),
            platformOptions: options
        )
        let started = ContinuousClock.now
        let termination: TerminationStatus
        let streams: [StreamSummary]
        do {
            let result = try await Subprocess.run(
                configuration,
                input: .none,
                output: .sequence,
                error: .sequence
            ) { execution in
                let pid = execution.processIdentifier.value
                let startTicks = afterSpawn(pid, launch: launch)
                control.attach(session: pid, startTicks: startTicks)
                do {
                    try await onStarted(pid, startTicks)
                } catch {
                    control.abort(reason: "outpostd could not record the start: \(error)")
                }
                return await watch(execution, started: started, onProgress: onProgress)
            }
            termination = result.terminationStatus
            streams = result.closureResult
        } catch {
            return TaskOutcome(
                state: .failed,
                reason: "cannot start \(specification.executable): \(error)",
                runtimeSeconds: Self.seconds(ContinuousClock.now - started)
            )
        }
        // The main process is gone; whatever it left in its session or with its marker goes too.
        await control.endProcesses(grace: settings.killGrace)
        let runtime = Self.seconds(ContinuousClock.now - started - control.pausedDuration)
        return outcome(termination, streams: streams, runtime: runtime)
    }

    private struct Launch {
        var executable: String
        var arguments: [String]
        /// Whether the limits and priority are set before the task's first instruction (else right after the spawn).
        var setsLimits: Bool
        /// Whether the task joins its cgroup before its first instruction (else right after the spawn).
        var joinsCgroup: Bool
    }

    /// What is exec'd. Best: `outpost-launch`, which joins the task's cgroup, sets its rlimits (no core, open files,
    /// CPU time) and priority, and execs the task in place. Without it: util-linux's `prlimit` and coreutils'
    /// `nice`, which exec in place too but cost two more execs (they load locales). swift-subprocess has no pre-exec
    /// hook on Linux, and setting limits after the spawn leaves a window that grows with the daemon's load
    /// (measured: over 200 ms under a busy test run), which is only the last resort.
    private func launchCommand(cgroupProcs: String?) -> Launch {
        let cpuSeconds = limits.maxRuntimeSeconds
        if let launcher = settings.launcher {
            let arguments = [
                cgroupProcs ?? "-", "\(settings.openFiles)", "\(cpuSeconds ?? -1)", "\(settings.niceness)", "--",
                specification.executable,
            ]
            return Launch(
                executable: launcher,
                arguments: arguments + specification.arguments,
                setsLimits: true,
                joinsCgroup: true
            )
        }
        guard Self.wrappersAvailable else {
            return Launch(
                executable: specification.executable,
                arguments: specification.arguments,
                setsLimits: false,
                joinsCgroup: false
            )
        }
        var arguments = ["--core=0", "--nofile=\(settings.openFiles)"]
        if let seconds = cpuSeconds { arguments.append("--cpu=\(seconds):\(seconds + 5)") }
        arguments += [Self.nice, "-n", "\(settings.niceness)", "--", specification.executable]
        return Launch(
            executable: Self.prlimit,
            arguments: arguments + specification.arguments,
            setsLimits: true,
            joinsCgroup: false
        )
    }

    static let prlimit = "/usr/bin/prlimit"
    static let nice = "/usr/bin/nice"
    static let wrappersAvailable = access(prlimit, X_OK) == 0 && access(nice, X_OK) == 0

    /// What the launch could not do before the exec, done now; returns the task's start time.
    private func afterSpawn(_ pid: Int32, launch: Launch) -> Int64 {
        if !launch.joinsCgroup { control.joinCgroup(pid) }
        if !launch.setsLimits {
            _ = outpost_limit_child(pid, settings.openFiles, limits.maxRuntimeSeconds ?? -1)
            setpriority(__priority_which_t(PRIO_PROCESS.rawValue), id_t(pid), settings.niceness)
        }
        return ProcessTree.process(pid)?.startTicks ?? 0
    }

    /// Copies both output streams until the process ends, while a watcher checks limits on every tick (the lanes'
    /// clock, `LaneSupervisor.checkLoop`) or command.
    private func watch(
        _ execution: Execution<NoInput, SequenceOutput, SequenceOutput>,
        started: ContinuousClock.Instant,
        onProgress: @Sendable @escaping (Double?, Double) -> Void
    ) async -> [StreamSummary] {
        let outputPath = directory.standardOutput
        let errorPath = directory.standardError
        let capacity = settings.outputCapacity
        let tailBytes = settings.stderrTailBytes
        return await withTaskGroup(of: StreamSummary?.self) { group in
            group.addTask {
                await Self.copy(execution.standardOutput, to: outputPath, capacity: capacity, tail: 0, isError: false)
            }
            group.addTask {
                await Self.copy(
                    execution.standardError,
                    to: errorPath,
                    capacity: capacity,
                    tail: tailBytes,
                    isError: true
                )
            }
            group.addTask {
                for await _ in control.wakeups {
                    if await check(started: started, onProgress: onProgress) { break }
                }
                return nil
            }
            var summaries: [StreamSummary] = []
            while let summary = await group.next() {
                guard let summary else { continue }
                summaries.append(summary)
                if summaries.count == 2 { break }
            }
            group.cancelAll()
            return summaries
        }
    }

    /// One look at the task. Returns true once the task is being ended (no more checks needed).
    private func check(
        started: ContinuousClock.Instant,
        onProgress: @Sendable (Double?, Double) -> Void
    ) async -> Bool {
        let runtime = ContinuousClock.now - started - control.pausedDuration
        var reason: String?
        if control.abortReason != nil {
            reason = nil  // reported as aborted, with the control's reason
        } else if let maximum = limits.maxRuntimeSeconds, runtime > .seconds(maximum) {
            reason = "exceeded its maximum runtime of \(maximum) s"
        } else if let limit = limits.memoryLimitBytes, !control.isPaused {
            let resident = control.residentBytes()
            if resident > limit {
                reason =
                    "exceeded its memory limit: \(resident >> 20) MiB resident, limit \(limit >> 20) MiB"
            }
        }
        onProgress(directory.readProgress(), Self.seconds(runtime))
        guard reason != nil || control.abortReason != nil else { return false }
        if let reason { control.recordLimit(reason) }
        await control.endProcesses(grace: settings.killGrace)
        return true
    }

    private static func copy(
        _ sequence: SubprocessOutputSequence,
        to path: String,
        capacity: Int64,
        tail: Int,
        isError: Bool
    ) async -> StreamSummary {
        // Drained to the end whatever happens to the file, so the child never blocks on a full pipe.
        var file = CappedOutputFile(path: path, capacity: capacity, tailCapacity: tail)
        do {
            for try await buffer in sequence {
                buffer.withUnsafeBytes { file.append($0) }
            }
        } catch {
            // Reading stops when the process ends (swift-subprocess cancels the read); what arrived is kept.
        }
        return StreamSummary(isError: isError, written: file.written, dropped: file.dropped, tail: file.tailText)
    }

    private func outcome(
        _ termination: TerminationStatus,
        streams: [StreamSummary],
        runtime: Double
    ) -> TaskOutcome {
        let errorStream = streams.first(where: \.isError)
        var outcome = TaskOutcome(state: .failed, stderrTail: errorStream?.tail, runtimeSeconds: runtime)
        switch termination {
        case .exited(let code): outcome.exitStatus = code
        case .signaled(let signal): outcome.signal = signal
        }
        if let abortReason = control.abortReason {
            outcome.state = .aborted
            outcome.reason = abortReason
        } else if let limitReason = control.limitReason {
            outcome.reason = limitReason
        } else if case .signaled(let signal) = termination {
            outcome.reason =
                signal == SIGXCPU
                ? "exceeded its CPU time limit of \(limits.maxRuntimeSeconds ?? 0) s (SIGXCPU)"
                : "killed by signal \(signal) (\(String(cString: strsignal(signal))))"
        } else if case .exited(let code) = termination, code == 125 || code == 127,
            let line = errorStream?.tail.split(separator: "\n").last(where: { $0.hasPrefix("outpost-launch: ") })
        {
            outcome.reason = "could not be started: \(line.dropFirst("outpost-launch: ".count))"
        } else if case .exited(let code) = termination, code != 0 {
            outcome.reason = "exited with status \(code)"
        } else if let missing = specification.outputFiles.first(where: {
            access("\(directory.slot)/\($0)", F_OK) != 0
        }) {
            outcome.reason = "exited with status 0 but did not create its output file \(missing)"
        } else {
            outcome.state = .succeeded
        }
        for stream in streams where stream.dropped > 0 {
            let name = stream.isError ? "stderr" : "stdout"
            let note = "\(name) was capped at \(settings.outputCapacity) bytes (\(stream.dropped) more dropped)"
            outcome.reason = outcome.reason.map { "\($0); \(note)" } ?? note
        }
        return outcome
    }

    static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
