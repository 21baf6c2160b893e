import Logging
import OutpostRPC
import OutpostState
import ServiceLifecycle

#if canImport(Glibc)
import Glibc
#endif

/// The compute lanes: each lane takes a task (local submissions first, then its work sources), runs it to its end
/// with `TaskExecution`, records every transition in the `TaskStore` before acting on it, and publishes lanes and
/// tasks in the node's state tree (`lanes.<id>`, `tasks.<id>`).
///
/// It is a `Service`. At start it first ends every process a previous outpostd left behind (found by their
/// `OUTPOST_TASK` marker), then puts interrupted tasks back in the queue (or fails them past `maxRestarts`), and only
/// then starts lanes. On graceful shutdown the running tasks are ended and queued again, without counting the start.
public actor LaneSupervisor: Service {
    public struct Dependencies: Sendable {
        public var store: TaskStore
        public var publisher: StatePublisher
        public var settings: ExecutionSettings
        /// `<state directory>/tasks`: one directory per task.
        public var tasksDirectory: String
        public var workSources: [any WorkSource]
        public var logger: Logger
        /// Records an event (`taskStarted`, `taskFinished`, …) in the node's event log.
        public var recordEvent: @Sendable (String, [String: JSONValue]) -> Void

        public init(
            store: TaskStore,
            publisher: StatePublisher,
            settings: ExecutionSettings,
            tasksDirectory: String,
            workSources: [any WorkSource] = [],
            logger: Logger,
            recordEvent: @escaping @Sendable (String, [String: JSONValue]) -> Void = { _, _ in }
        ) {
            self.store = store
            self.publisher = publisher
            self.settings = settings
            self.tasksDirectory = tasksDirectory
            self.workSources = workSources
            self.logger = logger
            self.recordEvent = recordEvent
        }
    }

    /// The task a lane runs, from its claim to its end.
    struct Running: Sendable {
        var record: TaskRecord
        let control: TaskControl
        /// Decoded once, at the claim: the execution and every publish of the task use it.
        let specification: Result<TaskSpecification, any Error>

        var decodedSpecification: TaskSpecification? { try? specification.get() }
    }

    private struct Lane {
        var mode: LaneMode
        var removing = false
        var running: Running?
        let wakeup: AsyncStream<Void>.Continuation
        let wakeups: AsyncStream<Void>
    }

    enum Decision {
        case stop
        case wait
        /// Run the claimed task under the lane configuration of the moment it was claimed.
        case run(Running, LaneConfiguration)
    }

    static let stopReason = "outpostd is stopping"

    let dependencies: Dependencies
    /// Pruned task directories, emptied, for new tasks to take (cleared at start).
    private let spares: SpareTaskDirectories
    private var store: TaskStore { dependencies.store }
    private var publisher: StatePublisher { dependencies.publisher }
    private var logger: Logger { dependencies.logger }

    public private(set) var configuration: LaneConfiguration
    private var lanes: [Int: Lane] = [:]
    private var benchmark: Double?
    /// What the coordinator withholds: set by `applyHold`, never stored (the next check-in says it again).
    private var hold = LaneHold()
    private var stopping = false
    private var started = false
    /// Callers of `reconfigure` that came while `start` was still recovering: they wait for it, since `start` awaits
    /// in between and would otherwise interleave with them (lanes added twice, the published lanes wiped).
    private var startWaiters: [CheckedContinuation<Void, Never>] = []
    private var laneStarts: AsyncStream<Int>.Continuation?
    private let reporterWakeup: AsyncStream<Void>.Continuation
    private let reporterWakeups: AsyncStream<Void>
    private var fetching = false
    private var nextFetch: [String: ContinuousClock.Instant] = [:]
    private var fetchBackoff: [String: Duration] = [:]
    private var reportRetryDelay: Duration?
    /// Local tasks finished since the last prune. Pruning (a query, a delete, the directories' removal) runs once
    /// per `pruneBatch` of them, or at the next tick, not after every task: for short tasks it cost as much as a
    /// transition. The state tree may so show up to `pruneBatch` more finished tasks than `finishedKept`, for at
    /// most a second.
    private var finishedSincePrune = 0
    static let pruneBatch = 32

    public init(configuration: LaneConfiguration, dependencies: Dependencies) {
        self.configuration = configuration
        self.dependencies = dependencies
        // Room for two prunes' worth: each prune hands back up to `pruneBatch` directories at once.
        spares = SpareTaskDirectories(tasksDirectory: dependencies.tasksDirectory, capacity: 2 * Self.pruneBatch)
        (reporterWakeups, reporterWakeup) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    // MARK: Service

    public func run() async throws {
        try await start()
        let (starts, continuation) = AsyncStream.makeStream(of: Int.self)
        laneStarts = continuation
        for id in lanes.keys.sorted() { continuation.yield(id) }
        if stopping { continuation.finish() }
        await withDiscardingTaskGroup { group in
            group.addTask {
                do { try await gracefulShutdown() } catch {}
                await self.stop()
            }
            group.addTask { await self.reportLoop() }
            group.addTask { await self.tickLoop() }
            group.addTask { await self.checkLoop() }
            for await id in starts {
                group.addTask { await self.laneLoop(id) }
            }
            group.cancelAll()
        }
        // Every task was ended: this node's cgroup directory is empty and can go (a kill -9 leaves it for the next
        // start, which looks in it for leftovers).
        dependencies.settings.cgroups?.removeDirectory()
    }

    /// Ends every running task (they are queued again) and lets `run()` return.
    public func stop() {
        guard !stopping else { return }
        stopping = true
        resumeStartWaiters()
        for lane in lanes.values {
            lane.running?.control.abort(reason: Self.stopReason)
            lane.wakeup.yield()
        }
        laneStarts?.finish()
        reporterWakeup.finish()
    }

    private func resumeStartWaiters() {
        for waiter in startWaiters { waiter.resume() }
        startWaiters = []
    }

    // MARK: Start and recovery

    private func start() async throws {
        // A dead daemon's processes first: nothing new may start while an old copy of a task still runs.
        await endCgroupLeftovers()
        let strays = ProcessTree.strays(nodeID: dependencies.settings.nodeID)
        if !strays.isEmpty {
            logger.warning(
                "ending processes left by a previous outpostd",
                metadata: ["pids": "\(strays.map(\.pid))"]
            )
            let nodeID = dependencies.settings.nodeID
            await ProcessTree.end(grace: dependencies.settings.killGrace) { ProcessTree.strays(nodeID: nodeID) }
            dependencies.recordEvent("strayProcessesEnded", ["pids": .array(strays.map { .integer(Int64($0.pid)) })])
        }
        let (requeued, failed) = try await store.recoverInterrupted(maxAttempts: configuration.maxRestarts + 1)
        for record in requeued {
            logger.notice("task interrupted by a restart is queued again", metadata: ["task": "\(record.id ?? 0)"])
            dependencies.recordEvent(
                "taskRequeued",
                ["taskId": .integer(record.id ?? 0), "attempts": .integer(Int64(record.attempts))]
            )
        }
        for record in failed {
            logger.warning("task failed: too many restarts", metadata: ["task": "\(record.id ?? 0)"])
            dependencies.recordEvent("taskFinished", Self.eventFields(record))
        }
        spares.clear()
        benchmark = try await cachedBenchmark()
        let modes = try await store.setting("laneModes")
        publisher.set(["tasks"], to: [:])
        publisher.set(["lanes"], to: [:])
        for record in try await store.visibleTasks(finishedKept: configuration.finishedKept) {
            publishTask(record)
        }
        for id in 0..<configuration.count {
            let mode = modes?[String(id)]?.stringValue.flatMap(LaneMode.init(rawValue:)) ?? .fold
            addLane(id, mode: mode)
        }
        started = true
        resumeStartWaiters()
    }

    /// Ends whatever is left in the lanes' and tasks' cgroups (a previous outpostd was killed, or a process would
    /// not die) and removes them.
    private func endCgroupLeftovers() async {
        guard let cgroups = dependencies.settings.cgroups else { return }
        for group in cgroups.groups() {
            let leftovers = await cgroups.end(group, grace: dependencies.settings.killGrace, remove: true)
            if !leftovers.isEmpty {
                let name = String(group.split(separator: "/").last ?? "")
                logger.warning(
                    "ended processes left in a task cgroup",
                    metadata: ["cgroup": "\(name)", "pids": "\(leftovers.map(\.pid))"]
                )
                dependencies.recordEvent(
                    "strayProcessesEnded",
                    ["cgroup": .string(name), "pids": .array(leftovers.map { .integer(Int64($0.pid)) })]
                )
            }
        }
    }

    private func cachedBenchmark() async throws -> Double {
        let machine = CPUBenchmark.machineKey
        if let stored = try await store.setting("benchmark"), stored["machine"]?.stringValue == machine,
            case .double(let value)? = stored["mops"]
        {
            return value
        }
        let value = CPUBenchmark.measure()
        try await store.setSetting("benchmark", ["machine": .string(machine), "mops": .double(value)])
        logger.info("CPU benchmark measured", metadata: ["mops_per_core": "\(Int(value))"])
        return value
    }

    // MARK: Lanes

    private func addLane(_ id: Int, mode: LaneMode) {
        let (wakeups, wakeup) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        lanes[id] = Lane(mode: mode, wakeup: wakeup, wakeups: wakeups)
        publishLane(id)
        if started { laneStarts?.yield(id) }
    }

    private nonisolated func laneLoop(_ id: Int) async {
        guard let wakeups = await wakeups(of: id) else { return }
        var iterator = wakeups.makeAsyncIterator()
        // What `finish` decided already when it claimed the lane's next task with the end of the last one.
        var decided: Decision?
        while true {
            let decision: Decision
            if let next = decided {
                decision = next
                decided = nil
            } else {
                decision = await decide(id)
            }
            switch decision {
            case .stop:
                return
            case .wait:
                guard await iterator.next() != nil else { return }
            case .run(let running, let configuration):
                decided = await execute(running, lane: id, configuration: configuration)
            }
        }
    }

    private func wakeups(of id: Int) -> AsyncStream<Void>? {
        lanes[id]?.wakeups
    }

    /// What lane `id` does next. Re-checks the lane after every `await`: a pause, a shrink or a stop may have come.
    func decide(_ id: Int) async -> Decision {
        for _ in 0..<2 {
            guard !stopping, let lane = lanes[id] else { return .stop }
            if lane.removing {
                lanes[id] = nil
                lane.wakeup.finish()
                if let cgroups = dependencies.settings.cgroups { cgroups.remove(cgroups.path(lane: id)) }
                publisher.set(["lanes", String(id)], to: nil)
                return .stop
            }
            guard lane.mode == .fold, lane.running == nil, !hold.holds(id) else { return .wait }
            let claimed: TaskRecord?
            do {
                claimed = try store.claimNext(lane: id)
            } catch {
                logger.error("cannot read the task queue", metadata: ["error": "\(error)"])
                return .wait
            }
            if let record = claimed, let taskID = record.id {
                guard takesWork(id) else {
                    _ = try? store.requeue(taskID)
                    return stopping ? .stop : .wait
                }
                return begin(record, lane: id)
            }
            guard await fetchFromWorkSources() else { return .wait }
        }
        return .wait
    }

    /// Whether lane `id` may take a task now.
    private func takesWork(_ id: Int) -> Bool {
        guard !stopping, let lane = lanes[id] else { return false }
        return lane.mode == .fold && !lane.removing && lane.running == nil && !hold.holds(id)
    }

    /// Makes a claimed task the lane's running one and publishes both.
    private func begin(_ record: TaskRecord, lane id: Int) -> Decision {
        let taskID = record.id ?? 0
        let running = Running(
            record: record,
            control: TaskControl(
                marker: ProcessTree.marker(nodeID: dependencies.settings.nodeID, taskID: taskID),
                taskID: taskID,
                lane: id,
                cgroups: dependencies.settings.cgroups
            ),
            specification: Result { try record.decodedSpecification() }
        )
        lanes[id]?.running = running
        publishTask(record, specification: running.decodedSpecification)
        publishLane(id)
        return .run(running, configuration)
    }

    /// Runs the task to its end; returns what the lane does next when `finish` already knows it.
    private nonisolated func execute(
        _ running: Running,
        lane: Int,
        configuration: LaneConfiguration
    ) async -> Decision? {
        let record = running.record
        let control = running.control
        guard let taskID = record.id else { return nil }
        let specification: TaskSpecification
        do {
            specification = try running.specification.get()
        } catch {
            return await finish(
                running,
                lane: lane,
                outcome: TaskOutcome(state: .failed, reason: "its stored specification does not parse: \(error)")
            )
        }
        let execution = TaskExecution(
            taskID: taskID,
            specification: specification,
            directory: TaskDirectory(tasksDirectory: dependencies.tasksDirectory, taskID: taskID),
            limits: EffectiveLimits(
                task: specification.limits,
                laneMaxRuntime: configuration.maxRuntimeSeconds,
                laneMemoryLimit: configuration.memoryLimitBytes
            ),
            cpus: configuration.cpus,
            settings: dependencies.settings,
            control: control,
            spares: spares
        )
        let store = dependencies.store
        let publisher = dependencies.publisher
        let key = String(taskID)
        let outcome = await execution.run(
            onStarted: { pid, startTicks in
                try store.markRunning(taskID, pid: pid, processStartTicks: startTicks)
                await self.didStart(taskID, lane: lane, pid: pid)
            },
            onProgress: { progress, runtime in
                if let progress { publisher.set(["tasks", key, "progress"], to: .double(progress)) }
                publisher.set(["tasks", key, "runtime"], to: .double((runtime * 10).rounded() / 10))
            }
        )
        return await finish(running, lane: lane, outcome: outcome)
    }

    private func didStart(_ taskID: Int64, lane: Int, pid: Int32) async {
        guard var running = lanes[lane]?.running, running.record.id == taskID else { return }
        running.record.state = .running
        running.record.pid = pid
        lanes[lane]?.running = running
        publishTask(running.record, specification: running.decodedSpecification, paused: running.control.isPaused)
        dependencies.recordEvent(
            "taskStarted",
            [
                "taskId": .integer(taskID), "lane": .integer(Int64(lane)), "pid": .integer(Int64(pid)),
                "attempt": .integer(Int64(running.record.attempts)),
            ]
        )
    }

    /// Records the end of the lane's task and, when the lane goes on taking work, claims its next task in the same
    /// transaction; returns that decision (nil: the lane decides anew).
    private func finish(_ running: Running, lane id: Int, outcome: TaskOutcome) async -> Decision? {
        let record = running.record
        guard let taskID = record.id else { return nil }
        lanes[id]?.running = nil
        var next: Decision?
        if outcome.state == .aborted && running.control.abortReason == Self.stopReason {
            // Not the task's fault: it runs again at the next start, and this start does not count.
            if let requeued = try? store.requeue(taskID) {
                publishTask(requeued, specification: running.decodedSpecification)
            }
        } else {
            do {
                let (finished, claimed) = try store.finish(
                    taskID,
                    outcome: outcome,
                    claimingNextFor: takesWork(id) ? id : nil
                )
                publishTask(finished, specification: running.decodedSpecification)
                dependencies.recordEvent("taskFinished", Self.eventFields(finished))
                logger.info(
                    "task finished",
                    metadata: [
                        "task": "\(taskID)", "state": "\(finished.state.rawValue)",
                        "reason": "\(finished.reason ?? "")",
                    ]
                )
                if let claimed { next = begin(claimed, lane: id) }
                if finished.source == TaskStore.localSource {
                    finishedSincePrune += 1
                    if finishedSincePrune >= Self.pruneBatch { await prune() }
                } else {
                    reporterWakeup.yield()
                }
            } catch {
                logger.error("cannot record a finished task", metadata: ["task": "\(taskID)", "error": "\(error)"])
            }
        }
        if lanes[id]?.mode == .finish {
            lanes[id]?.mode = .pause  // `takesWork` said no: nothing was claimed
            await persistModes()
        }
        if next == nil {
            publishLane(id)
            lanes[id]?.wakeup.yield()
        }
        return next
    }

    // MARK: Work sources and reports

    /// Asks the work sources that are due for work; true when new tasks were queued.
    private func fetchFromWorkSources() async -> Bool {
        guard !fetching, !stopping else { return false }
        let now = ContinuousClock.now
        let due = dependencies.workSources.filter { (nextFetch[$0.name] ?? now) <= now }
        guard !due.isEmpty else { return false }
        fetching = true
        defer { fetching = false }
        var queued = 0
        for source in due {
            let idle = lanes.filter { id, lane in
                lane.mode == .fold && !lane.removing && lane.running == nil && !hold.holds(id)
            }.count
            guard idle > 0 else { break }
            do {
                let fetch = try await source.fetchWork(idleLanes: idle)
                for item in fetch.items {
                    let record = try await store.insert(
                        item.specification,
                        source: source.name,
                        reference: item.reference
                    )
                    publishTask(record)
                    queued += 1
                }
                fetchBackoff[source.name] = nil
                if fetch.items.count < idle { nextFetch[source.name] = .now + fetch.retryAfter }
            } catch {
                let backoff = min((fetchBackoff[source.name] ?? .seconds(5)) * 2, .seconds(600))
                fetchBackoff[source.name] = backoff
                nextFetch[source.name] = .now + backoff
                logger.warning(
                    "work source failed",
                    metadata: [
                        "source": "\(source.name)", "error": "\(error)",
                        "retry_seconds": "\(backoff.components.seconds)",
                    ]
                )
            }
        }
        if queued > 0 { wakeIdleLanes() }
        return queued > 0
    }

    private nonisolated func reportLoop() async {
        for await _ in reporterWakeups {
            await reportPending()
        }
    }

    private func reportPending() async {
        var failed = false
        for source in dependencies.workSources where !stopping {
            guard let pending = try? await store.unreported(source: source.name), !pending.isEmpty else { continue }
            let results = pending.map { Self.result($0, tasksDirectory: dependencies.tasksDirectory) }
            let outcome = await source.report(results)
            // The source has these results now: record that even when outpostd is stopping (this task being
            // cancelled), or they are reported a second time after the restart. An unstructured task does not
            // inherit the cancellation.
            let store = self.store
            for taskID in outcome.accepted.sorted() {
                do {
                    publishTask(try await Task { try await store.markReported(taskID) }.value)
                } catch {
                    logger.error("cannot record a reported task", metadata: ["task": "\(taskID)", "error": "\(error)"])
                }
            }
            if let problem = outcome.problem {
                failed = true
                logger.warning(
                    "cannot report results yet",
                    metadata: [
                        "source": "\(source.name)", "waiting": "\(pending.count - outcome.accepted.count)",
                        "error": "\(problem)",
                    ]
                )
            }
        }
        scheduleReportRetry(failed: failed)
        await prune()
    }

    /// After a failed report, try again in 1 s, doubling up to 30 s (the tick retries every 30 s anyway); a
    /// success resets it.
    private func scheduleReportRetry(failed: Bool) {
        guard failed, !stopping else {
            reportRetryDelay = nil
            return
        }
        let delay = min((reportRetryDelay ?? .milliseconds(500)) * 2, .seconds(30))
        reportRetryDelay = delay
        let wakeup = reporterWakeup
        Task {
            try? await Task.sleep(for: delay)
            wakeup.yield()
        }
    }

    /// A work source has work now (its report brought some): ask it at once, whatever its retry time said.
    public func workAvailable(source: String) {
        guard !stopping else { return }
        nextFetch[source] = nil
        fetchBackoff[source] = nil
        wakeIdleLanes()
    }

    /// Wakes idle lanes when a work source is due again, and retries reports, once a second.
    private nonisolated func tickLoop() async {
        var ticks = 0
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(1))
            ticks += 1
            guard await tick(retryReports: ticks % 30 == 0) else { return }
            await pruneFinishedSinceLastPrune()
        }
    }

    /// One clock for the checks of every running task (limits, progress), instead of a timer of each task's own:
    /// for short tasks, making and cancelling that timer cost more than the check ever did.
    private nonisolated func checkLoop() async {
        let interval = dependencies.settings.checkInterval
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            guard await tickRunningTasks() else { return }
        }
    }

    private func tickRunningTasks() -> Bool {
        guard !stopping else { return false }
        for lane in lanes.values { lane.running?.control.tick() }
        return true
    }

    private func pruneFinishedSinceLastPrune() async {
        if finishedSincePrune > 0 { await prune() }
    }

    private func tick(retryReports: Bool) -> Bool {
        guard !stopping else { return false }
        let now = ContinuousClock.now
        if dependencies.workSources.contains(where: { (nextFetch[$0.name] ?? now) <= now }) { wakeIdleLanes() }
        if retryReports && !dependencies.workSources.isEmpty { reporterWakeup.yield() }
        return true
    }

    private func prune() async {
        finishedSincePrune = 0
        guard let removed = try? await store.pruneReported(keep: configuration.finishedKept) else { return }
        for taskID in removed {
            publisher.set(["tasks", String(taskID)], to: nil)
            if !spares.keep(taskID) {
                try? TaskDirectory(tasksDirectory: dependencies.tasksDirectory, taskID: taskID).remove()
            }
        }
    }

    static func result(_ record: TaskRecord, tasksDirectory: String) -> TaskResult {
        let directory = TaskDirectory(tasksDirectory: tasksDirectory, taskID: record.id ?? 0)
        let outputs = ((try? record.decodedSpecification())?.outputFiles ?? []).map { "\(directory.slot)/\($0)" }
        return TaskResult(
            taskID: record.id ?? 0,
            reference: record.reference,
            state: record.state,
            exitStatus: record.exitStatus,
            signal: record.signal,
            reason: record.reason,
            stderrTail: record.stderrTail,
            runtimeSeconds: record.runtimeSeconds,
            outputFiles: outputs.filter { access($0, F_OK) == 0 }
        )
    }

    // MARK: Commands

    /// What the lanes hold for a work source (tasks not yet reported), by reference: a source checks its own records
    /// against it after a crash.
    public func heldReferences(source: String) async throws -> Set<String> {
        try await store.heldReferences(source: source)
    }

    /// Queues a task submitted on this node.
    public func submit(_ specification: TaskSpecification) async throws -> TaskRecord {
        let record = try await store.insert(specification)
        publishTask(record)
        dependencies.recordEvent(
            "taskSubmitted",
            ["taskId": .integer(record.id ?? 0), "executable": .string(specification.executable)]
        )
        wakeIdleLanes()
        return record
    }

    /// Aborts a queued or running task.
    public func abort(taskID: Int64, reason: String) async throws {
        for lane in lanes.values where lane.running?.record.id == taskID {
            lane.running?.control.abort(reason: reason)
            return
        }
        if let record = try await store.abortQueued(taskID, reason: reason) {
            publishTask(record)
            dependencies.recordEvent("taskFinished", Self.eventFields(record))
            await prune()
            return
        }
        guard let record = try await store.task(taskID) else { throw LaneError("task \(taskID) does not exist") }
        throw LaneError("task \(taskID) is \(record.state.rawValue); only a queued or running task can be aborted")
    }

    /// Aborts a work source's task by its reference (a BOINC project's `result_abort`); false when the lanes have
    /// no unfinished task by that name.
    public func abort(source: String, reference: String, reason: String) async throws -> Bool {
        guard let taskID = try await store.unfinishedTask(source: source, reference: reference) else { return false }
        try await abort(taskID: taskID, reason: reason)
        return true
    }

    /// Sets the mode of the given lanes (all when nil): pause stops their tasks, fold resumes them and takes work,
    /// finish lets each complete its task and then pauses.
    public func setMode(_ mode: LaneMode, lanes ids: [Int]?) async throws {
        let targets = ids ?? Array(lanes.keys)
        for id in targets where lanes[id] == nil {
            throw LaneError(
                "there is no lane \(id) (lanes: \(lanes.keys.sorted().map(String.init).joined(separator: ", ")))"
            )
        }
        for id in targets {
            lanes[id]?.mode = mode
            if let control = lanes[id]?.running?.control {
                if mode == .pause || hold.pausesRunning(id) { control.pause() } else { control.resume() }
                if let running = lanes[id]?.running {
                    publishTask(running.record, specification: running.decodedSpecification, paused: control.isPaused)
                }
            } else if mode == .finish {
                lanes[id]?.mode = .pause  // nothing to finish
            }
            publishLane(id)
            lanes[id]?.wakeup.yield()
        }
        await persistModes()
        dependencies.recordEvent(
            "laneModeChanged",
            ["mode": .string(mode.rawValue), "lanes": .array(targets.sorted().map { .integer(Int64($0)) })]
        )
    }

    /// Applies a new lane configuration: more lanes start at once, fewer let the removed lanes' tasks finish first.
    /// It lasts until outpostd restarts (the configuration file stays the lasting truth); lane modes, by contrast,
    /// are stored, so a paused node stays paused across a reboot.
    public func reconfigure(_ new: LaneConfiguration) async throws {
        if !started && !stopping { await withCheckedContinuation { startWaiters.append($0) } }
        configuration = new
        let active = lanes.filter { !$0.value.removing }.keys.sorted()
        if new.count > active.count {
            var needed = new.count - active.count
            for id in lanes.keys.sorted() where lanes[id]!.removing && needed > 0 {
                lanes[id]?.removing = false
                needed -= 1
            }
            var id = 0
            while needed > 0 {
                if lanes[id] == nil {
                    addLane(id, mode: .fold)
                    needed -= 1
                }
                id += 1
            }
        } else if new.count < active.count {
            for id in active.suffix(active.count - new.count) {
                lanes[id]?.removing = true
                lanes[id]?.wakeup.yield()
            }
        }
        for id in lanes.keys { publishLane(id) }
        dependencies.recordEvent("lanesReconfigured", LaneConfigurationJSON.json(new).objectValue ?? [:])
    }

    public var laneIDs: [Int] { lanes.keys.sorted() }

    /// Each active lane with its benchmark (the per-core figure times its CPUs), as the coordinator is told them.
    public var laneBenchmarks: [(id: Int, benchmark: Double?)] {
        lanes.filter { !$0.value.removing }.keys.sorted().map { id in
            (id, benchmark.map { ($0 * Double(configuration.cpus) * 10).rounded() / 10 })
        }
    }

    /// Applies what the coordinator withholds: held lanes take no new task; with `pauseRunning`, their running tasks
    /// are paused too, and resumed when the hold lifts (unless the lane's own mode pauses them).
    public func applyHold(_ new: LaneHold) {
        guard new != hold else { return }
        let old = hold
        hold = new
        for (id, lane) in lanes {
            if let running = lane.running {
                let control = running.control
                if lane.mode == .pause || new.pausesRunning(id) { control.pause() } else { control.resume() }
                publishTask(running.record, specification: running.decodedSpecification, paused: control.isPaused)
            }
            publishLane(id)
            if old.holds(id) && !new.holds(id) { lane.wakeup.yield() }
        }
        // Results held back while the node was disabled (their uploads paused) go out now.
        if old.nodeDisabled && !new.nodeDisabled { reporterWakeup.yield() }
        dependencies.recordEvent(
            "coordinatorHold",
            [
                "nodeDisabled": .bool(new.nodeDisabled),
                "lanes": .array(new.disabledLanes.sorted().map { .integer(Int64($0)) }),
                "pauseRunning": .bool(new.pauseRunning),
            ]
        )
    }

    // MARK: State tree

    private func wakeIdleLanes() {
        for lane in lanes.values where lane.running == nil { lane.wakeup.yield() }
    }

    private func persistModes() async {
        let modes = JSONValue.object(
            Dictionary(uniqueKeysWithValues: lanes.map { (String($0.key), .string($0.value.mode.rawValue)) })
        )
        do {
            try await store.setSetting("laneModes", modes)
        } catch {
            logger.error("cannot save the lane modes", metadata: ["error": "\(error)"])
        }
    }

    private func publishTask(_ record: TaskRecord, specification: TaskSpecification? = nil, paused: Bool = false) {
        guard let id = record.id else { return }
        publisher.set(
            ["tasks", String(id)],
            to: LaneStateTree.task(record, specification: specification, paused: paused)
        )
    }

    private func publishLane(_ id: Int) {
        guard let lane = lanes[id] else { return }
        let state: String
        if lane.removing {
            state = "removing"
        } else if let running = lane.running {
            state = running.control.isPaused ? "paused" : "running"
        } else if hold.holds(id) {
            state = "held"
        } else {
            state = lane.mode == .fold ? "idle" : "paused"
        }
        publisher.set(
            ["lanes", String(id)],
            to: LaneStateTree.lane(
                id: id,
                mode: lane.mode,
                state: state,
                task: lane.running?.record.id,
                configuration: configuration,
                benchmark: benchmark
            )
        )
    }

    static func eventFields(_ record: TaskRecord) -> [String: JSONValue] {
        var fields: [String: JSONValue] = ["taskId": .integer(record.id ?? 0), "state": .string(record.state.rawValue)]
        if let reason = record.reason { fields["reason"] = .string(reason) }
        if let exitStatus = record.exitStatus { fields["exitStatus"] = .integer(Int64(exitStatus)) }
        return fields
    }
}
