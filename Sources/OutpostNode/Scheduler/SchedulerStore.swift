import GRDB
import OutpostScheduler

#if canImport(Glibc)
import Glibc
#endif

/// What the scheduler client must not forget across a crash (`scheduler.sqlite` in the state directory): the project's
/// host id, RPC sequence number, scheduler URLs and code-signing key, and every result it holds until the project
/// acknowledges it.
///
/// A result row is written before anything acts on it: `preparing` (files downloading), `queued` (handed to the
/// lanes), `ready` (outputs uploaded or the task failed; to report). Rows go when the project acks them. A held result
/// is always listed to the project (reported or under `other_results`), so the project never sends it twice.
final class SchedulerStore: Sendable {
    private let database: DatabaseQueue

    init(path: String) throws {
        var configuration = Configuration()
        configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = NORMAL") }
        configuration.busyMode = .timeout(5)
        database = try DatabaseQueue(path: path, configuration: configuration)
        try database.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA journal_mode = WAL") }
        var migrator = DatabaseMigrator()
        migrator.registerMigration("scheduler") { db in
            try db.execute(
                sql: """
                    CREATE TABLE project (
                        url TEXT PRIMARY KEY NOT NULL,
                        name TEXT,
                        scheduler_urls TEXT NOT NULL DEFAULT '',
                        host_id INTEGER NOT NULL DEFAULT 0,
                        rpc_seqno INTEGER NOT NULL DEFAULT 0,
                        code_sign_key TEXT
                    );
                    CREATE TABLE result (
                        name TEXT PRIMARY KEY NOT NULL,
                        project_url TEXT NOT NULL,
                        state TEXT NOT NULL,
                        job TEXT NOT NULL,
                        report TEXT,
                        created REAL NOT NULL
                    );
                    """
            )
        }
        migrator.registerMigration("project preferences") { db in
            try db.execute(sql: "ALTER TABLE project ADD COLUMN global_preferences TEXT")
        }
        try migrator.migrate(database)
        chmod(path, 0o600)
    }

    struct Project: Sendable {
        var url: String
        var name: String?
        var schedulerURLs: [String]
        var hostID: Int64
        var rpcSequenceNumber: Int64
        var codeSignKey: String?
        /// The content of the last `<global_preferences>` the project sent.
        var globalPreferences: String?
    }

    func project(_ url: String) throws -> Project {
        try database.write { db in
            try db.execute(sql: "INSERT OR IGNORE INTO project (url) VALUES (?)", arguments: [url])
            let row = try Row.fetchOne(db, sql: "SELECT * FROM project WHERE url = ?", arguments: [url])!
            return Project(
                url: url,
                name: row["name"],
                schedulerURLs: (row["scheduler_urls"] as String).split(separator: "\n").map(String.init),
                hostID: row["host_id"],
                rpcSequenceNumber: row["rpc_seqno"],
                codeSignKey: row["code_sign_key"],
                globalPreferences: row["global_preferences"]
            )
        }
    }

    func save(_ project: Project) throws {
        try database.write { db in
            try db.execute(
                sql: """
                    UPDATE project SET name = ?, scheduler_urls = ?, host_id = ?, rpc_seqno = ?, code_sign_key = ?,
                                       global_preferences = ?
                    WHERE url = ?
                    """,
                arguments: [
                    project.name, project.schedulerURLs.joined(separator: "\n"), project.hostID,
                    project.rpcSequenceNumber, project.codeSignKey, project.globalPreferences, project.url,
                ]
            )
        }
    }

    enum ResultState: String, Sendable {
        case preparing, queued, ready
    }

    struct HeldResult: Sendable {
        var name: String
        var state: ResultState
        /// The job as the project described it (`HeldJob.xml`).
        var job: String
        /// The report as it will be sent (`ReportedResult` XML), once ready.
        var report: String?
    }

    /// Records new results (ignoring any already held: a repeated reply never queues a result twice); returns the
    /// names that were new.
    func hold(_ jobs: [(name: String, xml: String)], project: String, now: Double) throws -> [String] {
        try database.write { db in
            var added: [String] = []
            for job in jobs {
                try db.execute(
                    sql:
                        "INSERT OR IGNORE INTO result (name, project_url, state, job, created) VALUES (?, ?, 'preparing', ?, ?)",
                    arguments: [job.name, project, job.xml, now]
                )
                if db.changesCount > 0 { added.append(job.name) }
            }
            return added
        }
    }

    func results(project: String, state: ResultState? = nil) throws -> [HeldResult] {
        try database.read { db in
            let rows =
                if let state {
                    try Row.fetchAll(
                        db,
                        sql: "SELECT * FROM result WHERE project_url = ? AND state = ? ORDER BY created, name",
                        arguments: [project, state.rawValue]
                    )
                } else {
                    try Row.fetchAll(
                        db,
                        sql: "SELECT * FROM result WHERE project_url = ? ORDER BY created, name",
                        arguments: [project]
                    )
                }
            return rows.map {
                HeldResult(
                    name: $0["name"],
                    state: ResultState(rawValue: $0["state"]) ?? .preparing,
                    job: $0["job"],
                    report: $0["report"]
                )
            }
        }
    }

    func result(_ name: String) throws -> HeldResult? {
        try database.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM result WHERE name = ?", arguments: [name]).map {
                HeldResult(
                    name: $0["name"],
                    state: ResultState(rawValue: $0["state"]) ?? .preparing,
                    job: $0["job"],
                    report: $0["report"]
                )
            }
        }
    }

    func setState(_ name: String, _ state: ResultState, report: String? = nil) throws {
        try database.write { db in
            try db.execute(
                sql: "UPDATE result SET state = ?, report = COALESCE(?, report) WHERE name = ?",
                arguments: [state.rawValue, report, name]
            )
        }
    }

    func forget(_ names: [String]) throws {
        guard !names.isEmpty else { return }
        try database.write { db in
            for name in names { try db.execute(sql: "DELETE FROM result WHERE name = ?", arguments: [name]) }
        }
    }
}
