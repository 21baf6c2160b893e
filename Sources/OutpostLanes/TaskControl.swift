import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The handle a lane keeps on the task it runs: pause, resume and abort reach the task's processes through it, from
/// any thread, while `TaskExecution` watches it.
///
/// The task's processes are those in its cgroup when it has one (its lane's, see `TaskCgroups`); otherwise those in
/// its session or carrying its marker, found by a scan of `/proc`.
public final class TaskControl: Sendable {
    private struct State {
        var session: Int32?
        /// The task's cgroup, once it exists: from then on its processes are found there.
        var cgroup: String?
        var startTicks: Int64 = 0
        var paused = false
        var pausedSince: ContinuousClock.Instant?
        var pausedTotal: Duration = .zero
        var abortReason: String?
        /// Set by the execution when the task broke a limit; reported as the failure's reason.
        var limitReason: String?
    }

    let marker: String
    let taskID: Int64
    /// The lane that runs the task: its cgroup is the task's.
    let lane: Int
    /// Where the task's cgroup is made; nil when the node tracks tasks by session.
    let cgroups: TaskCgroups?
    private let state = Mutex(State())
    private let wake: AsyncStream<Void>.Continuation
    /// Yields whenever the monitor should look again (a command, or the lanes' check clock).
    let wakeups: AsyncStream<Void>

    init(marker: String, taskID: Int64, lane: Int, cgroups: TaskCgroups?) {
        self.marker = marker
        self.taskID = taskID
        self.lane = lane
        self.cgroups = cgroups
        (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Called once the process exists; a pause requested before that is applied now.
    func attach(session: Int32, startTicks: Int64) {
        let paused = state.withLock { state in
            state.session = session
            state.startTicks = startTicks
            return state.paused
        }
        if paused { signalMembers(SIGSTOP) }
    }

    /// Stops every process of the task (SIGSTOP); its runtime clock stops too.
    public func pause() {
        let changed = state.withLock { state in
            guard !state.paused else { return false }
            state.paused = true
            state.pausedSince = .now
            return true
        }
        if changed { signalMembers(SIGSTOP) }
    }

    /// Continues a paused task (SIGCONT).
    public func resume() {
        let changed = state.withLock { state in
            guard state.paused else { return false }
            state.paused = false
            if let since = state.pausedSince { state.pausedTotal += .now - since }
            state.pausedSince = nil
            return true
        }
        if changed { signalMembers(SIGCONT) }
    }

    /// Ends the task: SIGTERM, then SIGKILL after the grace period. The first reason given is the one reported.
    public func abort(reason: String) {
        state.withLock { state in
            if state.abortReason == nil { state.abortReason = reason }
        }
        wake.yield()
    }

    /// Records the first limit the task broke.
    func recordLimit(_ reason: String) {
        state.withLock { state in
            if state.limitReason == nil { state.limitReason = reason }
        }
    }

    var limitReason: String? { state.withLock { $0.limitReason } }

    /// Moves the task's first process into its cgroup, when the launch could not do it before the exec.
    func joinCgroup(_ pid: Int32) {
        guard let cgroup = state.withLock({ $0.cgroup }), let cgroups else { return }
        cgroups.add(pid, to: cgroup)
    }

    /// Makes the task's cgroup ready before the spawn and returns its `cgroup.procs` file, or nil without one (no
    /// cgroups on this node, or this one could not be made: the task is then tracked by session like on such a
    /// node). It is the lane's, unless a process of an earlier task would not leave that one.
    func prepareCgroup() -> String? {
        guard let cgroups else { return nil }
        var path = cgroups.path(lane: lane)
        if cgroups.isOccupied(path) { path = cgroups.path(taskID: taskID) }
        guard let procs = try? cgroups.create(path) else { return nil }
        state.withLock { $0.cgroup = path }
        return procs
    }

    /// Ends every process of the task: SIGTERM, then SIGKILL after `grace`. The lane's cgroup stays for the next
    /// task; a task's own goes.
    func endProcesses(grace: Duration) async {
        let (session, startTicks, cgroup) = state.withLock { ($0.session, $0.startTicks, $0.cgroup) }
        if let cgroup, let cgroups {
            await cgroups.end(cgroup, grace: grace, remove: cgroup != cgroups.path(lane: lane))
            return
        }
        guard let session else { return }
        await ProcessTree.end(session: session, marker: marker, notBefore: startTicks, grace: grace)
    }

    /// The resident memory of the task's processes together.
    func residentBytes() -> Int64 {
        let (session, cgroup) = state.withLock { ($0.session, $0.cgroup) }
        if let cgroup, let cgroups {
            return cgroups.members(cgroup).reduce(0) { $0 + $1.residentBytes }
        }
        return ProcessTree.residentBytes(session: session)
    }

    public var isPaused: Bool { state.withLock { $0.paused } }
    /// The task's session (its main process's pid), once it runs.
    var session: Int32? { state.withLock { $0.session } }
    var abortReason: String? { state.withLock { $0.abortReason } }

    /// Time spent paused so far, including a pause still under way.
    var pausedDuration: Duration {
        state.withLock { state in
            state.pausedTotal + (state.pausedSince.map { .now - $0 } ?? .zero)
        }
    }

    func tick() {
        wake.yield()
    }

    func finishWakeups() {
        wake.finish()
    }

    private func signalMembers(_ signal: Int32) {
        let (session, startTicks, cgroup) = state.withLock { ($0.session, $0.startTicks, $0.cgroup) }
        if let cgroup, let cgroups {
            ProcessTree.signal(cgroups.members(cgroup), signal)
            return
        }
        guard let session else { return }
        ProcessTree.signal(ProcessTree.members(session: session, marker: marker, notBefore: startTicks), signal)
    }
}
