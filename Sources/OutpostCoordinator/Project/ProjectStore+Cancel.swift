import GRDB
import OutpostRPC

/// Cancelling jobs, as BOINC's "cancel jobs" page does: results not sent yet are dropped, and each host holding one
/// in progress is told `result_abort` at its next RPC (its task ends there and then).
extension ProjectStore {
    /// Cancels the jobs not finished yet among `ids`; returns how many were cancelled and how many results go out as
    /// aborts.
    public func cancel(jobIDs ids: [Int64]) async throws -> JSONValue {
        guard !ids.isEmpty, ids.count <= 100_000 else { throw RegistryError(.invalid, "give 1…100000 job ids") }
        let now = self.now()
        return try await pool.write { db in
            var cancelled: Int64 = 0
            for id in ids {
                try db.execute(
                    sql: """
                        UPDATE jobs SET state = 'cancelled', finished = ?, error = 'cancelled by an administrator'
                        WHERE id = ? AND state IN ('queued', 'running')
                        """,
                    arguments: [now, id]
                )
                guard db.changesCount > 0 else { continue }
                cancelled += 1
                try db.execute(
                    sql:
                        "UPDATE results SET state = 'over', outcome = 'cancelled', received = ? WHERE job_id = ? AND state = 'unsent'",
                    arguments: [now, id]
                )
            }
            let aborting =
                try Int64.fetchOne(
                    db,
                    sql: """
                        SELECT COUNT(*) FROM results r JOIN jobs j ON j.id = r.job_id
                        WHERE j.state = 'cancelled' AND r.state = 'in_progress'
                        """
                ) ?? 0
            return ["cancelled": .integer(cancelled), "aborting": .integer(aborting)]
        }
    }

    /// The host's results in progress whose job was cancelled: they end here (outcome `aborted`) and the reply tells
    /// the host to abort them.
    func abortCancelled(_ db: Database, hostID: Int64, now: Double) throws -> [String] {
        let rows = try Row.fetchAll(
            db,
            sql: """
                SELECT r.id, r.name FROM results r JOIN jobs j ON j.id = r.job_id
                WHERE r.host_id = ? AND r.state = 'in_progress' AND j.state = 'cancelled'
                """,
            arguments: [hostID]
        )
        for row in rows {
            try db.execute(
                sql: "UPDATE results SET state = 'over', outcome = 'aborted', received = ? WHERE id = ?",
                arguments: [now, row["id"] as Int64]
            )
        }
        return rows.map { $0["name"] }
    }
}
