import GRDB
import OutpostCore
import OutpostRPC

#if canImport(Glibc)
import Glibc
#endif

/// The lanes' crash-safe memory: every task and its state transitions, and the lanes' own settings, in SQLite
/// (`lanes.sqlite` in the state directory).
///
/// Each transition is one transaction, committed before the daemon acts on it. The journal is WAL with
/// `synchronous = NORMAL`: a commit survives `kill -9` of outpostd (the tests do exactly that), and a power cut can
/// lose only the last few transitions, which at worst runs a task once more (its result was not yet reported).
public final class TaskStore: Sendable {
    /// The source of tasks submitted with `submitTask`: nobody waits for their report.
    public static let localSource = "local"

    private let database: DatabaseQueue

    /// Opens (or creates) the database and brings its schema up to date.
    public init(path: String) throws {
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        configuration.busyMode = .timeout(5)
        database = try DatabaseQueue(path: path, configuration: configuration)
        try database.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA journal_mode = WAL")
        }
        try Self.migrator.migrate(database)
        // The file holds task arguments and environments: for the daemon's user alone.
        chmod(path, 0o600)
    }

    private static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("tasks") { db in
            try db.create(table: "task") { table in
                table.autoIncrementedPrimaryKey("id")
                table.column("specification", .text).notNull()
                table.column("source", .text).notNull()
                table.column("reference", .text)
                table.column("state", .text).notNull().indexed()
                table.column("lane", .integer)
                table.column("attempts", .integer).notNull()
                table.column("pid", .integer)
                table.column("processStartTicks", .integer)
                table.column("exitStatus", .integer)
                table.column("signal", .integer)
                table.column("reason", .text)
                table.column("stderrTail", .text)
                table.column("progress", .double).notNull()
                table.column("runtimeSeconds", .double).notNull()
                table.column("createdAt", .double).notNull()
                table.column("startedAt", .double)
                table.column("finishedAt", .double)
                table.column("reportedAt", .double)
            }
            try db.create(table: "setting") { table in
                table.primaryKey("key", .text)
                table.column("value", .text).notNull()
            }
        }
        // What `pruneReported` looks for, in an index of its own: without it, each prune read every row of the
        // table, the queued ones too (a node with 2,000 queued short tasks spent more on pruning than on running).
        migrator.registerMigration("prunable index") { db in
            try db.execute(
                sql: """
                    CREATE INDEX task_prunable ON task(id) WHERE reportedAt IS NOT NULL AND finishedAt IS NOT NULL
                    """
            )
        }
        return migrator
    }

    // MARK: Tasks

    /// Adds a queued task and returns it with its id.
    public func insert(
        _ specification: TaskSpecification,
        source: String = TaskStore.localSource,
        reference: String? = nil
    ) async throws -> TaskRecord {
        let new = TaskRecord(specification: specification, source: source, reference: reference, createdAt: Self.now())
        return try await database.write { db in
            var record = new
            try record.insert(db)
            return record
        }
    }

    // The four transitions every task goes through (claim, running, finish, and requeue on a stop) are synchronous:
    // a WAL commit with `synchronous = NORMAL` takes tens of microseconds, less than the two thread hops of GRDB's
    // async write, which short tasks pay three times each. The caller's thread blocks for that long, and only under
    // another writer (a prune, a report) for longer.

    /// Claims the oldest queued task for `lane`: it becomes `starting`, with one more attempt counted, in the same
    /// transaction that picks it, so two lanes can never take the same task.
    public func claimNext(lane: Int) throws -> TaskRecord? {
        try database.write { db in try Self.claimOldestQueued(db, lane: lane) }
    }

    private static func claimOldestQueued(_ db: Database, lane: Int) throws -> TaskRecord? {
        let oldestQueued = SQLRequest<TaskRecord>(
            sql: "SELECT * FROM task WHERE state = ? ORDER BY id LIMIT 1",
            arguments: [TaskState.queued.rawValue],
            cached: true
        )
        guard var record = try oldestQueued.fetchOne(db) else { return nil }
        try check(record, moving: .starting)
        record.state = .starting
        record.lane = lane
        record.attempts += 1
        record.startedAt = record.startedAt ?? now()
        record.pid = nil
        record.processStartTicks = nil
        try record.saveTransition(db)
        return record
    }

    /// Records the process now running the task.
    public func markRunning(_ id: Int64, pid: Int32, processStartTicks: Int64?) throws {
        _ = try transition(id, to: .running) { record in
            record.pid = pid
            record.processStartTicks = processStartTicks
        }
    }

    /// Records how a task ended. Local tasks count as reported at once: nobody else is waiting for them.
    public func finish(_ id: Int64, outcome: TaskOutcome) throws -> TaskRecord {
        try finish(id, outcome: outcome, claimingNextFor: nil).finished
    }

    /// Records how a task ended and, when `lane` is given, claims the next queued task for that lane in the same
    /// transaction (as `claimNext` would): a lane that goes straight on to its next task commits once for both
    /// transitions, not twice.
    public func finish(
        _ id: Int64,
        outcome: TaskOutcome,
        claimingNextFor lane: Int?
    ) throws -> (finished: TaskRecord, next: TaskRecord?) {
        try database.write { db in
            let finished = try Self.transition(db, id, to: outcome.state) { record in
                record.exitStatus = outcome.exitStatus
                record.signal = outcome.signal
                record.reason = outcome.reason
                record.stderrTail = outcome.stderrTail
                record.runtimeSeconds += outcome.runtimeSeconds
                if outcome.state == .succeeded { record.progress = 1 }
                record.finishedAt = Self.now()
                if record.source == Self.localSource { record.reportedAt = record.finishedAt }
            }
            // A claim that fails leaves the finish standing: the lane then decides anew, as after any task.
            return (finished, lane.flatMap { try? Self.claimOldestQueued(db, lane: $0) })
        }
    }

    /// Aborts a task that has not started (a running one is aborted through its lane, then `finish`ed).
    /// - Returns: the record after the change, or nil when the task is not queued (any more).
    public func abortQueued(_ id: Int64, reason: String) async throws -> TaskRecord? {
        try await database.write { db in
            guard var record = try TaskRecord.fetchOne(db, key: id), record.state == .queued else { return nil }
            record.state = .aborted
            record.reason = reason
            record.finishedAt = Self.now()
            if record.source == Self.localSource { record.reportedAt = record.finishedAt }
            try record.saveTransition(db)
            return record
        }
    }

    /// Puts a claimed task back in the queue without counting the start: the lane was paused or outpostd is
    /// stopping, and the task did nothing wrong.
    @discardableResult
    public func requeue(_ id: Int64) throws -> TaskRecord {
        try transition(id, to: .queued) { record in
            record.attempts = max(0, record.attempts - 1)
            record.pid = nil
            record.processStartTicks = nil
        }
    }

    /// Marks a result as acknowledged by its work source, and returns the record as it now is.
    public func markReported(_ id: Int64) async throws -> TaskRecord {
        try await database.write { db in
            let byID = SQLRequest<TaskRecord>(sql: "SELECT * FROM task WHERE id = ?", arguments: [id], cached: true)
            guard var record = try byID.fetchOne(db) else {
                throw TaskStoreError("task \(id) does not exist")
            }
            record.reportedAt = Self.now()
            try record.saveTransition(db)
            return record
        }
    }

    /// Puts back every task a dead daemon left `starting` or `running`: queued again to restart in its own slot
    /// directory, or failed once it has used `maxAttempts` starts. Call it only after the dead daemon's processes
    /// were ended (`ProcessTree.strays`).
    /// - Returns: the tasks that were requeued and those that were failed.
    public func recoverInterrupted(maxAttempts: Int) async throws -> (requeued: [TaskRecord], failed: [TaskRecord]) {
        try await database.write { db in
            var requeued: [TaskRecord] = []
            var failed: [TaskRecord] = []
            let interrupted = try TaskRecord.filter(
                [TaskState.starting.rawValue, TaskState.running.rawValue].contains(Column("state"))
            ).fetchAll(db)
            for var record in interrupted {
                if record.attempts >= maxAttempts {
                    record.state = .failed
                    record.reason =
                        "interrupted \(record.attempts) time(s) by an outpostd restart (max_restarts reached)"
                    record.finishedAt = Self.now()
                    if record.source == Self.localSource { record.reportedAt = record.finishedAt }
                    failed.append(record)
                } else {
                    record.state = .queued
                    requeued.append(record)
                }
                record.pid = nil
                record.processStartTicks = nil
                try record.saveTransition(db)
            }
            return (requeued, failed)
        }
    }

    public func task(_ id: Int64) async throws -> TaskRecord? {
        try await database.read { db in try TaskRecord.fetchOne(db, key: id) }
    }

    /// The tasks the state tree shows: all unfinished or unreported ones, and the newest `finishedKept` others.
    public func visibleTasks(finishedKept: Int) async throws -> [TaskRecord] {
        try await database.read { db in
            let open = try TaskRecord.filter(
                sql: "state IN ('queued', 'starting', 'running') OR reportedAt IS NULL"
            ).fetchAll(db)
            let recent = try TaskRecord.filter(
                sql: "state NOT IN ('queued', 'starting', 'running') AND reportedAt IS NOT NULL"
            ).order(Column("id").desc).limit(finishedKept).fetchAll(db)
            return (open + recent).sorted { ($0.id ?? 0) < ($1.id ?? 0) }
        }
    }

    /// Finished results still waiting for their work source's acknowledgement.
    public func unreported(source: String) async throws -> [TaskRecord] {
        try await database.read { db in
            try TaskRecord.filter(
                sql: "source = ? AND reportedAt IS NULL AND finishedAt IS NOT NULL",
                arguments: [source]
            )
            .order(Column("id")).fetchAll(db)
        }
    }

    /// The references of a source's tasks not yet reported (queued, running or finished): what the lanes hold for it.
    /// The id of a work source's task that has not finished yet, by the source's reference.
    public func unfinishedTask(source: String, reference: String) async throws -> Int64? {
        try await database.read { db in
            try Int64.fetchOne(
                db,
                sql: "SELECT id FROM task WHERE source = ? AND reference = ? AND finishedAt IS NULL",
                arguments: [source, reference]
            )
        }
    }

    public func heldReferences(source: String) async throws -> Set<String> {
        try await database.read { db in
            Set(
                try String.fetchAll(
                    db,
                    sql: "SELECT reference FROM task WHERE source = ? AND reportedAt IS NULL AND reference IS NOT NULL",
                    arguments: [source]
                )
            )
        }
    }

    /// Deletes reported tasks beyond the newest `keep`, and returns their ids (their directories can go).
    public func pruneReported(keep: Int) async throws -> [Int64] {
        try await database.write { db in
            let ids = try Int64.fetchAll(
                db,
                sql: """
                    SELECT id FROM task WHERE reportedAt IS NOT NULL AND finishedAt IS NOT NULL
                    ORDER BY id DESC LIMIT -1 OFFSET ?
                    """,
                arguments: [keep]
            )
            if !ids.isEmpty { _ = try TaskRecord.deleteAll(db, keys: ids) }
            return ids
        }
    }

    // MARK: Settings

    /// A stored setting (lane modes, runtime configuration, the benchmark), as JSON.
    public func setting(_ key: String) async throws -> JSONValue? {
        let text = try await database.read { db in
            try String.fetchOne(db, sql: "SELECT value FROM setting WHERE key = ?", arguments: [key])
        }
        guard let text else { return nil }
        return try JSONCoding.parse(Array(text.utf8))
    }

    public func setSetting(_ key: String, _ value: JSONValue) async throws {
        let text = String(decoding: JSONCoding.serialize(value), as: UTF8.self)
        try await database.write { db in
            try db.execute(
                sql:
                    "INSERT INTO setting (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                arguments: [key, text]
            )
        }
    }

    // MARK: Transitions

    private func transition(
        _ id: Int64,
        to next: TaskState,
        _ change: (inout TaskRecord) -> Void
    ) throws -> TaskRecord {
        try database.write { db in try Self.transition(db, id, to: next, change) }
    }

    private static func transition(
        _ db: Database,
        _ id: Int64,
        to next: TaskState,
        _ change: (inout TaskRecord) -> Void
    ) throws -> TaskRecord {
        let byID = SQLRequest<TaskRecord>(sql: "SELECT * FROM task WHERE id = ?", arguments: [id], cached: true)
        guard var record = try byID.fetchOne(db) else {
            throw TaskStoreError("task \(id) does not exist")
        }
        try check(record, moving: next)
        record.state = next
        change(&record)
        try record.saveTransition(db)
        return record
    }

    private static func check(_ record: TaskRecord, moving next: TaskState) throws {
        guard record.state.canMove(to: next) else {
            throw TaskStoreError("task \(record.id ?? -1) cannot go from \(record.state.rawValue) to \(next.rawValue)")
        }
    }

    static func now() -> Double { WallClock.seconds() }
}

/// A transition the state machine does not allow, or a task that is not there.
public struct TaskStoreError: Error, Sendable, CustomStringConvertible {
    public let description: String

    init(_ description: String) {
        self.description = description
    }
}
