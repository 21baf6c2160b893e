/// Where lanes get work beyond local submissions, and where results go back: the scheduler client implements it for
/// BOINC-compatible servers; tests implement it to drive the lanes.
///
/// The lanes call `fetchWork` when a lane is idle and nothing is queued, and `report` for each finished task of this
/// source until it returns without throwing; the result stays in the store (and survives restarts) until then.
public protocol WorkSource: Sendable {
    /// Identifies the source in the store; results go back to the source with the same name.
    var name: String { get }
    /// New work for up to `idleLanes` lanes, and how long to wait before asking again when it had none.
    func fetchWork(idleLanes: Int) async throws -> WorkFetch
    /// Hands over a finished task; returning means the source has it (a BOINC server acknowledged it).
    func report(_ result: TaskResult) async throws
}

/// The answer to a work request.
public struct WorkFetch: Sendable {
    public var items: [WorkItem]
    /// When there was nothing (or not enough), do not ask again before this.
    public var retryAfter: Duration

    public init(items: [WorkItem], retryAfter: Duration = .seconds(60)) {
        self.items = items
        self.retryAfter = retryAfter
    }
}

/// One task from a work source, with the source's own name for it.
public struct WorkItem: Sendable {
    public var specification: TaskSpecification
    public var reference: String

    public init(specification: TaskSpecification, reference: String) {
        self.specification = specification
        self.reference = reference
    }
}

/// A finished task, as reported to its work source.
public struct TaskResult: Sendable, Equatable {
    public var taskID: Int64
    public var reference: String?
    public var state: TaskState
    public var exitStatus: Int32?
    public var signal: Int32?
    public var reason: String?
    public var stderrTail: String?
    public var runtimeSeconds: Double
    /// Absolute paths of the expected output files (in the slot directory), those that exist.
    public var outputFiles: [String]
}
