/// Where a task is in its life. Every change goes through `canMove(to:)`, and the store commits it before the change
/// takes effect (a task is `starting` on disk before its process is spawned), so after a crash the database never
/// claims less than what happened.
///
/// ```
/// queued ──▶ starting ──▶ running ──▶ succeeded | failed | aborted
///   ▲  │        │  │         │
///   │  │        │  └──▶ failed (could not start)
///   │  └────────┴───────────┴──▶ aborted (abortTask)
///   └──────── starting | running, after outpostd restarts (or failed, past max_restarts)
/// ```
public enum TaskState: String, Sendable, CaseIterable, Codable {
    case queued
    case starting
    case running
    case succeeded
    case failed
    case aborted

    /// Succeeded, failed and aborted tasks never run again.
    public var isFinal: Bool {
        switch self {
        case .succeeded, .failed, .aborted: true
        case .queued, .starting, .running: false
        }
    }

    /// Whether a process may exist for the task: what recovery after a crash looks at.
    public var mayHaveProcess: Bool { self == .starting || self == .running }

    public func canMove(to next: TaskState) -> Bool {
        switch (self, next) {
        case (.queued, .starting), (.queued, .aborted): true
        case (.starting, .running), (.starting, .failed), (.starting, .aborted), (.starting, .queued): true
        case (.running, .succeeded), (.running, .failed), (.running, .aborted), (.running, .queued): true
        default: false
        }
    }
}
