/// How one run of a task ended, as the supervisor saw it.
public struct TaskOutcome: Sendable, Equatable {
    public var state: TaskState
    public var exitStatus: Int32?
    public var signal: Int32?
    /// Why it did not succeed, for people: "exceeded its memory limit (…)", "exited with status 3", "aborted by alice".
    public var reason: String?
    public var stderrTail: String?
    public var runtimeSeconds: Double

    public init(
        state: TaskState,
        exitStatus: Int32? = nil,
        signal: Int32? = nil,
        reason: String? = nil,
        stderrTail: String? = nil,
        runtimeSeconds: Double = 0
    ) {
        self.state = state
        self.exitStatus = exitStatus
        self.signal = signal
        self.reason = reason
        self.stderrTail = stderrTail
        self.runtimeSeconds = runtimeSeconds
    }
}
