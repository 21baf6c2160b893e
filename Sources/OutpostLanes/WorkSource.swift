/// Where lanes get work beyond local submissions, and where results go back: the scheduler client implements it for
/// BOINC-compatible servers; tests implement it to drive the lanes.
///
/// The lanes call `fetchWork` when a lane is idle and nothing is queued (or when the source says it has work, through
/// `LaneSupervisor.workAvailable(source:)`), and `report` with the finished tasks of this source until each is
/// accepted; a result stays in the store (and survives restarts) until then.
public protocol WorkSource: Sendable {
    /// Identifies the source in the store; results go back to the source with the same name.
    var name: String { get }
    /// New work for up to `idleLanes` lanes, and how long to wait before asking again when it had none.
    func fetchWork(idleLanes: Int) async throws -> WorkFetch
    /// Hands over a finished task; returning means the source has it (a BOINC server acknowledged it).
    func report(_ result: TaskResult) async throws
    /// Hands over every finished task waiting, so that a source can report them together (BOINC reports all ready
    /// results in one RPC). The default reports them one by one and stops at the first that fails.
    func report(_ results: [TaskResult]) async -> ReportOutcome
}

extension WorkSource {
    public func report(_ results: [TaskResult]) async -> ReportOutcome {
        var outcome = ReportOutcome()
        for result in results {
            do {
                try await report(result)
                outcome.accepted.insert(result.taskID)
            } catch {
                outcome.problem = "\(error)"
                break
            }
        }
        return outcome
    }
}

/// Which of the finished tasks a source accepted, and why not the others.
public struct ReportOutcome: Sendable, Equatable {
    /// Task ids the source has now; the lanes mark them reported.
    public var accepted: Set<Int64>
    /// Why some were not accepted; they are offered again later.
    public var problem: String?

    public init(accepted: Set<Int64> = [], problem: String? = nil) {
        self.accepted = accepted
        self.problem = problem
    }
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
