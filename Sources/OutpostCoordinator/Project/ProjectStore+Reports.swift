import GRDB
import OutpostRPC

/// What the submitter sees: jobs with their state and every attempt's outcome, exit status, stderr and outputs.
extension ProjectStore {
    public func jobs(state: String?, jobID: Int64?, limit: Int) async throws -> JSONValue {
        try await pool.read { db in
            var conditions: [String] = []
            var arguments: [any DatabaseValueConvertible] = []
            if let state {
                conditions.append("j.state = ?")
                arguments.append(state)
            }
            if let jobID {
                conditions.append("j.id = ?")
                arguments.append(jobID)
            }
            let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
            arguments.append(limit)
            let jobs = try Row.fetchAll(
                db,
                sql: """
                    SELECT j.id, j.name, j.state, j.error, j.created, j.finished, a.name AS app
                    FROM jobs j JOIN apps a ON a.id = j.app_id \(filter) ORDER BY j.id LIMIT ?
                    """,
                arguments: StatementArguments(arguments)
            )
            return .array(
                try jobs.map { job in
                    let results = try Row.fetchAll(
                        db,
                        sql: """
                            SELECT r.name, r.state, r.outcome, r.host_id, r.sent, r.received, r.exit_status, r.elapsed,
                                   r.stderr, r.outputs, r.error, h.domain_name, h.client_id
                            FROM results r LEFT JOIN hosts h ON h.id = r.host_id WHERE r.job_id = ? ORDER BY r.id
                            """,
                        arguments: [job["id"] as Int64]
                    )
                    return [
                        "id": .integer(job["id"]), "name": .string(job["name"]), "app": .string(job["app"]),
                        "state": .string(job["state"]), "error": (job["error"] as String?).map { .string($0) } ?? .null,
                        "created": .double(job["created"]),
                        "finished": (job["finished"] as Double?).map { .double($0) } ?? .null,
                        "results": .array(results.map(Self.resultJSON)),
                    ]
                }
            )
        }
    }

    private static func resultJSON(_ row: Row) -> JSONValue {
        func optional<T: DatabaseValueConvertible>(_ column: String, _ wrap: (T) -> JSONValue) -> JSONValue {
            (row[column] as T?).map(wrap) ?? .null
        }
        return [
            "name": .string(row["name"]), "state": .string(row["state"]),
            "outcome": optional("outcome") { (value: String) in .string(value) },
            "host": optional("host_id") { (value: Int64) in .integer(value) },
            "hostName": optional("domain_name") { (value: String) in .string(value) },
            "client": optional("client_id") { (value: String) in .string(value) },
            "exitStatus": optional("exit_status") { (value: Int64) in .integer(value) },
            "elapsed": optional("elapsed") { (value: Double) in .double(value) },
            "stderr": optional("stderr") { (value: String) in .string(value) },
            "outputs": parseJSON(row["outputs"]),
            "error": optional("error") { (value: String) in .string(value) },
        ]
    }

    /// Counts of jobs by state, for `outpost-coordinator results --summary` and the demo's progress line.
    public func jobSummary() async throws -> JSONValue {
        try await pool.read { db in
            var counts: [String: JSONValue] = ["queued": 0, "running": 0, "done": 0, "failed": 0, "cancelled": 0]
            for row in try Row.fetchAll(db, sql: "SELECT state, COUNT(*) AS n FROM jobs GROUP BY state") {
                counts[row["state"]] = .integer(row["n"])
            }
            return .object(counts)
        }
    }

    /// The path of an uploaded output, for the admin download.
    public func outputPath(_ name: String) throws -> String {
        let checked = try Self.checkedName(name)
        let path = directories.upload + "/" + checked
        guard IncomingFile.size(of: path) != nil else { throw RegistryError(.notFound, "no output named \(name)") }
        return path
    }
}
