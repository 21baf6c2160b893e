import GRDB
import OutpostRPC

/// One task as the database holds it: its specification and everything known about its runs.
///
/// Rows are read and written column by column (`init(row:)`, `encode(to:)`), not through Codable: every task
/// transition reads and writes one, and GRDB's Codable path was the larger part of a short task's database time.
public struct TaskRecord: Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "task"

    public var id: Int64?
    /// The specification as JSON text (`TaskSpecification.json`).
    public var specification: String
    /// Who gets the result: "local" for `submitTask`, otherwise the work source's name.
    public var source: String
    /// The work source's own name for the task (a BOINC result name); nil for local tasks.
    public var reference: String?
    public var state: TaskState
    public var lane: Int?
    /// Starts so far; a start interrupted by a crash counts.
    public var attempts: Int
    /// The process that runs it now (or ran it last), and its start time in clock ticks since boot (`/proc/PID/stat`
    /// field 22), so a recycled pid is never mistaken for the task.
    public var pid: Int32?
    public var processStartTicks: Int64?
    public var exitStatus: Int32?
    public var signal: Int32?
    /// Why it failed or was aborted, in words.
    public var reason: String?
    /// The last 64 KiB of standard error, for reporting.
    public var stderrTail: String?
    public var progress: Double
    /// Seconds it has run, paused time not counted, over all attempts.
    public var runtimeSeconds: Double
    public var createdAt: Double
    public var startedAt: Double?
    public var finishedAt: Double?
    /// Set when the work source acknowledged the result (immediately for local tasks).
    public var reportedAt: Double?

    public init(specification: TaskSpecification, source: String, reference: String?, createdAt: Double) {
        self.specification = String(decoding: JSONCoding.serialize(specification.json), as: UTF8.self)
        self.source = source
        self.reference = reference
        self.state = .queued
        self.attempts = 0
        self.progress = 0
        self.runtimeSeconds = 0
        self.createdAt = createdAt
    }

    /// The specification, read back. A row that no longer parses (edited by hand) is reported, not run.
    public func decodedSpecification() throws -> TaskSpecification {
        try TaskSpecification(json: try JSONCoding.parse(Array(specification.utf8)))
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) {
        id = inserted.rowID
    }

    public init(row: Row) throws {
        id = row["id"]
        specification = row["specification"]
        source = row["source"]
        reference = row["reference"]
        let stateName: String = row["state"]
        guard let state = TaskState(rawValue: stateName) else {
            throw TaskStoreError("task \(id ?? 0) has an unknown state '\(stateName)'")
        }
        self.state = state
        lane = row["lane"]
        attempts = row["attempts"]
        pid = row["pid"]
        processStartTicks = row["processStartTicks"]
        exitStatus = row["exitStatus"]
        signal = row["signal"]
        reason = row["reason"]
        stderrTail = row["stderrTail"]
        progress = row["progress"]
        runtimeSeconds = row["runtimeSeconds"]
        createdAt = row["createdAt"]
        startedAt = row["startedAt"]
        finishedAt = row["finishedAt"]
        reportedAt = row["reportedAt"]
    }

    public func encode(to container: inout PersistenceContainer) throws {
        container["id"] = id
        container["specification"] = specification
        container["source"] = source
        container["reference"] = reference
        container["state"] = state.rawValue
        container["lane"] = lane
        container["attempts"] = attempts
        container["pid"] = pid
        container["processStartTicks"] = processStartTicks
        container["exitStatus"] = exitStatus
        container["signal"] = signal
        container["reason"] = reason
        container["stderrTail"] = stderrTail
        container["progress"] = progress
        container["runtimeSeconds"] = runtimeSeconds
        container["createdAt"] = createdAt
        container["startedAt"] = startedAt
        container["finishedAt"] = finishedAt
        container["reportedAt"] = reportedAt
    }
}

extension TaskRecord {
    /// Writes the columns a transition can change (never the specification, source, reference or creation time),
    /// with one cached statement: GRDB's generic `update` builds its statement through the persistence container
    /// on every call, and short tasks make three transitions each.
    func saveTransition(_ db: Database) throws {
        guard let id else { throw TaskStoreError("a task without an id cannot be updated") }
        let statement = try db.cachedStatement(
            sql: """
                UPDATE task SET state = ?, lane = ?, attempts = ?, pid = ?, processStartTicks = ?, exitStatus = ?,
                    signal = ?, reason = ?, stderrTail = ?, progress = ?, runtimeSeconds = ?, startedAt = ?,
                    finishedAt = ?, reportedAt = ?
                WHERE id = ?
                """
        )
        try statement.execute(arguments: [
            state.rawValue, lane, attempts, pid, processStartTicks, exitStatus, signal, reason, stderrTail, progress,
            runtimeSeconds, startedAt, finishedAt, reportedAt, id,
        ])
        guard db.changesCount == 1 else { throw TaskStoreError("task \(id) does not exist") }
    }
}
