import GRDB
import OutpostCore
import OutpostCrypto
import OutpostRPC
import OutpostScheduler

/// The scheduler: one `scheduler_request` in, one `scheduler_reply` out, all of it in one transaction.
///
/// In order: authenticate (an account's authenticator, or an enrolled node's `ID.SECRET`), find or make the host,
/// end overdue results, take the reported results (ack every one, so a client never reports forever), resend results
/// the host lost, then send new work weighted by the host's benchmark.
extension ProjectStore {
    public func schedule(_ bytes: [UInt8]) async -> SchedulerReply {
        var reply = SchedulerReply()
        reply.projectName = settings.name
        let request: SchedulerRequest
        do {
            request = try SchedulerRequest(bytes: bytes)
        } catch {
            reply.messages = [.init("The scheduler could not read the request: \(error)", priority: "high")]
            reply.requestDelay = 60
            return reply
        }
        do {
            let base = reply
            return try await pool.write { db in try self.schedule(db, request, base) }
        } catch let error as RegistryError {
            reply.messages = [.init(error.message, priority: "high")]
            reply.requestDelay = error.code == .unauthorized ? 3600 : 60
            return reply
        } catch {
            reply.messages = [.init("The scheduler failed; the project's log has the details.", priority: "low")]
            reply.requestDelay = 60
            return reply
        }
    }

    private func schedule(_ db: Database, _ request: SchedulerRequest, _ base: SchedulerReply) throws -> SchedulerReply
    {
        var reply = base
        let now = self.now()
        let identity = try authenticate(db, request.authenticator)
        let (hostID, isNew) = try host(db, identity: identity, request: request, now: now)
        if isNew || request.hostID != hostID { reply.hostID = hostID }
        reply.requestDelay = settings.requestDelaySeconds
        if request.codeSignKey.map(Self.normalizedKey) != Self.normalizedKey(publicKeyText) {
            reply.codeSignKey = publicKeyText
        }
        try expireOverdueResults(db, now: now)
        // Reports are taken up to a count and a time budget: the rest are not acked, so the client reports them in
        // its next RPC, and one client's request cannot hold the database for everyone else.
        let budgetEnd = MonotonicClock.seconds() + Self.reportTimeBudgetSeconds
        for reported in request.results.prefix(Self.maximumReportsPerRPC) {
            try accept(db, reported, hostID: hostID, now: now)
            reply.resultAcks.append(reported.name)
            if MonotonicClock.seconds() > budgetEnd { break }
        }
        reply.resultAborts = try abortCancelled(db, hostID: hostID, now: now)
        var sending = try lostResults(db, hostID: hostID, request: request)
        let wantsWork = request.workRequestSeconds > 0 || request.cpuRequestInstances > 0
        if wantsWork, case .client(let clientID) = identity, try isDisabled(db, clientID: clientID) {
            // An admin disabled this node: it finishes and reports what it holds, and gets nothing new, whether or
            // not it honours the flag its check-ins carry.
            reply.messages.append(
                .init("This node is disabled on the coordinator; it gets no new work until an admin enables it.")
            )
        } else if wantsWork {
            sending += try assignWork(db, hostID: hostID, request: request, alreadySending: sending.count, now: now)
        }
        try describe(db, results: sending, into: &reply)
        if settings.nextRPCDelaySeconds > 0, try hasResultsInProgress(db, hostID: hostID) {
            reply.nextRPCDelay = settings.nextRPCDelaySeconds
        }
        return reply
    }

    /// Reported results taken in one scheduler RPC (BOINC clients report far fewer; a client with more reports the
    /// rest in its next RPC, since only what was taken is acked).
    static let maximumReportsPerRPC = 1_000
    /// Seconds of one RPC's transaction spent on reports before the rest wait for the next RPC.
    static let reportTimeBudgetSeconds = 2.0

    private func isDisabled(_ db: Database, clientID: String) throws -> Bool {
        try Bool.fetchOne(db, sql: "SELECT disabled FROM clients WHERE id = ?", arguments: [clientID]) ?? false
    }

    private static func normalizedKey(_ text: String) -> String {
        text.filter { !$0.isWhitespace }
    }

    // MARK: Identity

    enum Identity {
        case account(String)
        case client(String)
    }

    private func authenticate(_ db: Database, _ authenticator: String) throws -> Identity {
        let invalid = RegistryError(
            .unauthorized,
            "Invalid or missing account key. Create one with 'outpost-coordinator account create' and attach again."
        )
        guard !authenticator.isEmpty, authenticator.utf8.count <= 256 else { throw invalid }
        let hash = ClientRegistry.hash(authenticator)
        if let id = try String.fetchOne(
            db,
            sql: "SELECT id FROM accounts WHERE authenticator_hash = ?",
            arguments: [hash]
        ) {
            return .account(id)
        }
        // An enrolled node uses its check-in credentials, which ties its BOINC host to its client.
        if let dot = authenticator.firstIndex(of: ".") {
            let clientID = String(authenticator[..<dot])
            let secretHash = ClientRegistry.hash(String(authenticator[authenticator.index(after: dot)...]))
            if let stored = try String.fetchOne(
                db,
                sql: "SELECT secret_hash FROM clients WHERE id = ?",
                arguments: [clientID]
            ),
                SecretBytes.equal(Array(stored.utf8), Array(secretHash.utf8))
            {
                return .client(clientID)
            }
        }
        throw invalid
    }

    private func host(
        _ db: Database,
        identity: Identity,
        request: SchedulerRequest,
        now: Double
    ) throws -> (Int64, Bool) {
        let (column, owner): (String, String) =
            switch identity {
            case .account(let id): ("account_id", id)
            case .client(let id): ("client_id", id)
            }
        var hostID = try Int64.fetchOne(
            db,
            sql: "SELECT id FROM hosts WHERE id = ? AND \(column) = ?",
            arguments: [request.hostID, owner]
        )
        if hostID == nil, case .client = identity {
            // A node that lost its host id (a new state directory) is still the same client: same host.
            hostID = try Int64.fetchOne(
                db,
                sql: "SELECT id FROM hosts WHERE client_id = ? ORDER BY id LIMIT 1",
                arguments: [owner]
            )
        }
        let info = request.host
        let flops = info.floatingPointOpsPerSecond > 0 ? info.floatingPointOpsPerSecond : 1e9
        if let hostID {
            try db.execute(
                sql: """
                    UPDATE hosts SET domain_name = ?, host_cpid = ?, processors = ?, flops = ?, platform = ?, last_rpc = ?,
                                     rpc_count = rpc_count + 1
                    WHERE id = ?
                    """,
                arguments: [
                    info.domainName, info.hostCPID, max(info.processors, 1), flops, request.platformName, now, hostID,
                ]
            )
            return (hostID, false)
        }
        try db.execute(
            sql: """
                INSERT INTO hosts (\(column), domain_name, host_cpid, processors, flops, platform, created, last_rpc, rpc_count)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1)
                """,
            arguments: [
                owner, info.domainName, info.hostCPID, max(info.processors, 1), flops, request.platformName, now, now,
            ]
        )
        return (db.lastInsertedRowID, true)
    }

    // MARK: Results coming back

    /// Results past their deadline end as `timed_out`; their job gets another attempt or fails.
    func expireOverdueResults(_ db: Database, now: Double) throws {
        let overdue = try Row.fetchAll(
            db,
            sql: "SELECT id, job_id FROM results WHERE state = 'in_progress' AND deadline < ? LIMIT 1000",
            arguments: [now]
        )
        for row in overdue {
            try db.execute(
                sql: "UPDATE results SET state = 'over', outcome = 'timed_out', error = ?, received = ? WHERE id = ?",
                arguments: ["no report before the deadline", now, row["id"] as Int64]
            )
            try retryOrFail(db, jobID: row["job_id"], error: "no report before the deadline", now: now)
        }
    }

    private func accept(_ db: Database, _ reported: ReportedResult, hostID: Int64, now: Double) throws {
        guard
            let row = try Row.fetchOne(
                db,
                sql: """
                    SELECT r.id, r.job_id, j.outputs, j.max_output_bytes FROM results r JOIN jobs j ON j.id = r.job_id
                    WHERE r.name = ? AND r.host_id = ? AND r.state = 'in_progress'
                    """,
                arguments: [reported.name, hostID]
            )
        else { return }  // Unknown, another host's, or already over (a repeated report): acked, nothing changes.
        let resultID: Int64 = row["id"]
        let jobID: Int64 = row["job_id"]
        let openNames = Self.parseJSON(row["outputs"]).arrayValue?.compactMap(\.stringValue) ?? []
        var outputs: [JSONValue] = []
        var problem: String?
        if reported.state != ReportedResult.State.filesUploaded.rawValue || reported.exitStatus != 0 {
            problem = "the task failed on the host (exit status \(reported.exitStatus), state \(reported.state))"
        } else {
            for (index, openName) in openNames.enumerated() {
                let name = "\(reported.name)_r\(index)"
                let path = directories.upload + "/" + name
                let claimed = reported.outputs.first { $0.name == name }
                guard let size = IncomingFile.size(of: path) else {
                    problem = "output \(openName) (\(name)) was never uploaded"
                    break
                }
                guard claimed == nil || Int64(claimed!.nbytes) == size else {
                    problem = "output \(openName) has \(size) bytes here, the host reported \(Int64(claimed!.nbytes))"
                    break
                }
                outputs.append([
                    "name": .string(name), "open_name": .string(openName), "nbytes": .integer(size),
                    "md5": .string(claimed?.md5 ?? ""), "path": .string(path),
                ])
            }
        }
        try db.execute(
            sql: """
                UPDATE results SET state = 'over', outcome = ?, received = ?, exit_status = ?, elapsed = ?, stderr = ?,
                                   outputs = ?, error = ?
                WHERE id = ?
                """,
            arguments: [
                problem == nil ? "success" : "error", now, reported.exitStatus, reported.finalElapsedTime,
                String(reported.stderr.suffix(65_536)), Self.json(.array(outputs)), problem, resultID,
            ]
        )
        if let problem {
            try retryOrFail(db, jobID: jobID, error: problem, now: now)
        } else {
            try db.execute(
                sql: """
                    UPDATE jobs SET state = 'done', canonical_result_id = ?, finished = ?, error = NULL
                    WHERE id = ? AND state NOT IN ('done', 'failed', 'cancelled')
                    """,
                arguments: [resultID, now, jobID]
            )
        }
    }

    /// After a failed attempt: another attempt while the job has some left, else the job fails with the reason.
    private func retryOrFail(_ db: Database, jobID: Int64, error: String, now: Double) throws {
        guard
            let job = try Row.fetchOne(
                db,
                sql: "SELECT name, state, max_attempts FROM jobs WHERE id = ?",
                arguments: [jobID]
            ),
            !["done", "failed", "cancelled"].contains(job["state"] as String)
        else { return }
        let attempts =
            try Int64.fetchOne(db, sql: "SELECT COUNT(*) FROM results WHERE job_id = ?", arguments: [jobID]) ?? 0
        if attempts < job["max_attempts"] as Int64 {
            try Self.createResult(db, jobID: jobID, jobName: job["name"], attempt: attempts, now: now)
            try db.execute(sql: "UPDATE jobs SET state = 'queued' WHERE id = ?", arguments: [jobID])
        } else {
            try db.execute(
                sql: "UPDATE jobs SET state = 'failed', error = ?, finished = ? WHERE id = ?",
                arguments: ["\(error) (after \(attempts) attempts)", now, jobID]
            )
        }
    }

    // MARK: Results going out

    private func hasResultsInProgress(_ db: Database, hostID: Int64) throws -> Bool {
        try Bool.fetchOne(
            db,
            sql: "SELECT EXISTS (SELECT 1 FROM results WHERE host_id = ? AND state = 'in_progress')",
            arguments: [hostID]
        ) ?? false
    }

    /// Results this host holds by our records but did not list: it lost them (a wiped state), so they go again.
    private func lostResults(_ db: Database, hostID: Int64, request: SchedulerRequest) throws -> [Int64] {
        let held = Set(request.otherResults.map(\.name) + request.results.map(\.name))
        let rows = try Row.fetchAll(
            db,
            sql: "SELECT id, name FROM results WHERE host_id = ? AND state = 'in_progress'",
            arguments: [hostID]
        )
        return rows.filter { !held.contains($0["name"] as String) }.map { $0["id"] }
    }

    /// New results for the host: enough estimated runtime (fpops / the host's flops) to cover the seconds it asked
    /// for, at least one per idle instance, within its cap of results in progress.
    private func assignWork(
        _ db: Database,
        hostID: Int64,
        request: SchedulerRequest,
        alreadySending: Int,
        now: Double
    ) throws -> [Int64] {
        let host = try Row.fetchOne(db, sql: "SELECT processors, flops FROM hosts WHERE id = ?", arguments: [hostID])!
        let processors: Int64 = host["processors"]
        let flops: Double = host["flops"]
        let inProgress =
            try Int64.fetchOne(
                db,
                sql: "SELECT COUNT(*) FROM results WHERE host_id = ? AND state = 'in_progress'",
                arguments: [hostID]
            ) ?? 0
        let capacity = Int(processors) * settings.maximumInProgressPerProcessor - Int(inProgress)
        guard capacity > 0 else { return [] }
        let platforms = [request.platformName] + request.alternativePlatforms
        let placeholders = platforms.map { _ in "?" }.joined(separator: ", ")
        let candidates = try Row.fetchAll(
            db,
            sql: """
                SELECT r.id, r.job_id, j.fpops_est, j.delay_bound,
                       (SELECT v.id FROM app_versions v WHERE v.app_id = j.app_id AND v.platform IN (\(placeholders))
                        ORDER BY v.version_num DESC LIMIT 1) AS version_id
                FROM results r JOIN jobs j ON j.id = r.job_id
                WHERE r.state = 'unsent' ORDER BY r.id LIMIT ?
                """,
            arguments: StatementArguments(platforms + [capacity])!
        )
        var chosen: [Int64] = []
        var seconds = 0.0
        let minimumCount = Int(request.cpuRequestInstances.rounded(.up))
        for row in candidates {
            guard let versionID = row["version_id"] as Int64? else { continue }
            if chosen.count >= minimumCount && seconds >= request.workRequestSeconds { break }
            let id: Int64 = row["id"]
            try db.execute(
                sql: """
                    UPDATE results SET state = 'in_progress', host_id = ?, app_version_id = ?, sent = ?, deadline = ?
                    WHERE id = ?
                    """,
                arguments: [hostID, versionID, now, now + (row["delay_bound"] as Double), id]
            )
            try db.execute(sql: "UPDATE jobs SET state = 'running' WHERE id = ?", arguments: [row["job_id"] as Int64])
            chosen.append(id)
            seconds += (row["fpops_est"] as Double) / flops
        }
        return chosen
    }

    /// Everything the host needs for these results: apps, app versions, files (signed for app files), workunits.
    private func describe(_ db: Database, results: [Int64], into reply: inout SchedulerReply) throws {
        var files: [String: FileInfo] = [:]
        var fileOrder: [String] = []
        var versions: Set<Int64> = []
        var apps: Set<String> = []
        func addFile(_ name: String, executable: Bool) throws {
            guard files[name] == nil,
                let row = try Row.fetchOne(
                    db,
                    sql: "SELECT md5, nbytes, signature FROM project_files WHERE name = ?",
                    arguments: [name]
                )
            else { return }
            files[name] = FileInfo(
                name: name,
                downloadURLs: [settings.downloadURL(name)],
                md5: row["md5"],
                nbytes: Double(row["nbytes"] as Int64),
                executable: executable,
                fileSignature: executable ? row["signature"] : nil
            )
            fileOrder.append(name)
        }
        for id in results {
            guard
                let row = try Row.fetchOne(
                    db,
                    sql: """
                        SELECT r.name, r.deadline, r.app_version_id, j.name AS job_name, j.inputs, j.outputs, j.command_line,
                               j.fpops_est, j.fpops_bound, j.memory_bound, j.disk_bound, j.max_output_bytes, a.name AS app,
                               v.version_num, v.platform, v.files
                        FROM results r JOIN jobs j ON j.id = r.job_id JOIN apps a ON a.id = j.app_id
                        JOIN app_versions v ON v.id = r.app_version_id WHERE r.id = ?
                        """,
                    arguments: [id]
                )
            else { continue }
            let app: String = row["app"]
            if apps.insert(app).inserted { reply.apps.append(AppDescription(name: app)) }
            let versionID: Int64 = row["app_version_id"]
            if versions.insert(versionID).inserted {
                var references: [FileReference] = []
                for file in Self.parseJSON(row["files"]).arrayValue ?? [] {
                    guard let name = file["name"]?.stringValue else { continue }
                    try addFile(name, executable: true)
                    references.append(
                        FileReference(
                            fileName: name,
                            openName: file["open_name"]?.stringValue,
                            mainProgram: file["main"]?.boolValue ?? false
                        )
                    )
                }
                reply.appVersions.append(
                    AppVersionDescription(
                        appName: app,
                        versionNum: row["version_num"],
                        platform: row["platform"],
                        avgNCPUs: 1,
                        flops: nil,
                        files: references
                    )
                )
            }
            let jobName: String = row["job_name"]
            var inputs: [FileReference] = []
            for input in Self.parseJSON(row["inputs"]).arrayValue ?? [] {
                guard let file = input["file"]?.stringValue else { continue }
                try addFile(file, executable: false)
                inputs.append(FileReference(fileName: file, openName: input["open_name"]?.stringValue, copyFile: true))
            }
            if !reply.workunits.contains(where: { $0.name == jobName }) {
                reply.workunits.append(
                    WorkunitDescription(
                        name: jobName,
                        appName: app,
                        commandLine: (row["command_line"] as String).isEmpty ? nil : row["command_line"],
                        rscFpopsEst: row["fpops_est"],
                        rscFpopsBound: row["fpops_bound"],
                        rscMemoryBound: row["memory_bound"],
                        rscDiskBound: row["disk_bound"],
                        files: inputs
                    )
                )
            }
            let resultName: String = row["name"]
            var outputs: [FileReference] = []
            for (index, openName) in (Self.parseJSON(row["outputs"]).arrayValue ?? []).compactMap(\.stringValue)
                .enumerated()
            {
                let name = "\(resultName)_r\(index)"
                let maxNbytes: Double = row["max_output_bytes"]
                files[name] = FileInfo(
                    name: name,
                    uploadURLs: [settings.uploadURL],
                    maxNbytes: maxNbytes,
                    xmlSignature: uploadCertificate.signature(name: name, maxNbytes: maxNbytes)
                )
                fileOrder.append(name)
                outputs.append(FileReference(fileName: name, openName: openName, copyFile: true))
            }
            reply.results.append(
                ResultDescription(
                    name: resultName,
                    workunitName: jobName,
                    reportDeadline: row["deadline"],
                    platform: row["platform"],
                    versionNum: row["version_num"],
                    files: outputs
                )
            )
        }
        reply.fileInfos = fileOrder.compactMap { files[$0] }
    }
}
