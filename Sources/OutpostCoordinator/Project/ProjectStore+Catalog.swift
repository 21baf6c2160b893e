import GRDB
import OutpostCrypto
import OutpostRPC
import OutpostScheduler

#if canImport(Glibc)
import Glibc
#endif

/// Admin operations: files, apps, accounts, job submission.
extension ProjectStore {
    /// Where an admin upload of `name` is written before it is complete.
    public func stagingFile(for name: String, limit: Int64) throws -> IncomingFileHandle {
        let checked = try Self.checkedName(name)
        let path = directories.staging + "/" + checked + "." + Hex.encode(SecretBytes.random(count: 6))
        return IncomingFileHandle(file: try IncomingFile(path: path, limit: limit), name: checked)
    }

    /// Moves a completed admin upload into the download directory. Files there are immutable: storing a name again
    /// with the same content is fine (the call is idempotent), with other content it is refused.
    public func commitFile(_ handle: IncomingFileHandle) async throws -> JSONValue {
        let md5 = try handle.file.finish()
        let size = handle.file.written
        let name = handle.name
        let staged = handle.file.path
        let target = directories.download + "/" + name
        defer { unlink(staged) }
        return try await pool.write { db in
            if let existing = try Row.fetchOne(
                db,
                sql: "SELECT md5 FROM project_files WHERE name = ?",
                arguments: [name]
            ) {
                guard existing["md5"] as String == md5 else {
                    throw RegistryError(
                        .conflict,
                        "a different file named '\(name)' is already stored; pick another name"
                    )
                }
            } else {
                guard rename(staged, target) == 0 else {
                    throw RegistryError(.conflict, "cannot store \(target): \(String(cString: strerror(errno)))")
                }
                try db.execute(
                    sql: "INSERT INTO project_files (name, md5, nbytes, created) VALUES (?, ?, ?, ?)",
                    arguments: [name, md5, size, self.now()]
                )
            }
            return ["name": .string(name), "md5": .string(md5), "nbytes": .integer(size)]
        }
    }

    /// Adds an app version: its files (already stored) are signed with the project's key. The version number is the
    /// next one for the app and platform unless given.
    public func addApp(
        name: String,
        platform: String,
        versionNum: Int64?,
        files: [(name: String, openName: String?, main: Bool)]
    ) async throws -> JSONValue {
        guard !name.isEmpty, name.utf8.allSatisfy({ $0 > 0x20 && $0 != UInt8(ascii: "/") && $0 < 0x7F }) else {
            throw RegistryError(.invalid, "an app name is one word of printable ASCII, not '\(name)'")
        }
        guard files.filter(\.main).count == 1 else {
            throw RegistryError(.invalid, "an app version needs exactly one main program among its files")
        }
        let key = signingKey
        return try await pool.write { db in
            for file in files {
                guard
                    let row = try Row.fetchOne(
                        db,
                        sql: "SELECT md5 FROM project_files WHERE name = ?",
                        arguments: [file.name]
                    )
                else {
                    throw RegistryError(.notFound, "no stored file '\(file.name)'; upload it first")
                }
                let signature = try key.signature(md5: row["md5"])
                try db.execute(
                    sql: "UPDATE project_files SET signature = ? WHERE name = ?",
                    arguments: [signature, file.name]
                )
            }
            try db.execute(
                sql: "INSERT OR IGNORE INTO apps (name, created) VALUES (?, ?)",
                arguments: [name, self.now()]
            )
            let appID = try Int64.fetchOne(db, sql: "SELECT id FROM apps WHERE name = ?", arguments: [name])!
            let latest = try Int64.fetchOne(
                db,
                sql: "SELECT MAX(version_num) FROM app_versions WHERE app_id = ? AND platform = ?",
                arguments: [appID, platform]
            )
            let version = versionNum ?? ((latest ?? 0) + 1)
            let filesJSON: JSONValue = .array(
                files.map { file in
                    var object: [String: JSONValue] = ["name": .string(file.name), "main": .bool(file.main)]
                    if let open = file.openName { object["open_name"] = .string(open) }
                    return .object(object)
                }
            )
            do {
                try db.execute(
                    sql:
                        "INSERT INTO app_versions (app_id, version_num, platform, files, created) VALUES (?, ?, ?, ?, ?)",
                    arguments: [appID, version, platform, Self.json(filesJSON), self.now()]
                )
            } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
                throw RegistryError(.conflict, "\(name) version \(version) for \(platform) exists already")
            }
            return ["app": .string(name), "version": .integer(version), "platform": .string(platform)]
        }
    }

    /// A BOINC account for a client that is not an enrolled node (a BOINC client); returns its authenticator.
    public func createAccount(name: String) async throws -> String {
        let authenticator = Hex.encode(SecretBytes.random(count: 16))
        try await pool.write { db in
            do {
                try db.execute(
                    sql: "INSERT INTO accounts (id, name, authenticator_hash, created) VALUES (?, ?, ?, ?)",
                    arguments: [ClientRegistry.newID(), name, ClientRegistry.hash(authenticator), self.now()]
                )
            } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
                throw RegistryError(.conflict, "an account named '\(name)' exists already")
            }
        }
        return authenticator
    }

    /// What a submitted job runs with.
    public struct JobRequest: Sendable {
        public var app: String
        /// Stored files and the names the task opens them by.
        public var inputs: [(file: String, openName: String)]
        public var outputs: [String] = ["out.txt"]
        public var commandLine = ""
        public var count = 1
        public var fpopsEstimate: Double = 1e10
        public var deadlineSeconds: Double?
        public var maximumAttempts: Int?
        public var maximumOutputBytes: Double = 100 * 1024 * 1024

        public init(app: String, inputs: [(file: String, openName: String)]) {
            self.app = app
            self.inputs = inputs
        }
    }

    /// Queues `count` jobs; each gets its first result (attempt) at once.
    public func submit(_ job: JobRequest) async throws -> [Int64] {
        guard (1...100_000).contains(job.count) else { throw RegistryError(.invalid, "count must be 1…100000") }
        guard !job.outputs.isEmpty else { throw RegistryError(.invalid, "a job needs at least one output file") }
        for name in job.outputs + job.inputs.map(\.openName) { _ = try Self.checkedName(name) }
        let deadline = job.deadlineSeconds ?? settings.defaultDeadlineSeconds
        let attempts = job.maximumAttempts ?? settings.defaultMaximumAttempts
        guard deadline >= 1, (1...100).contains(attempts) else {
            throw RegistryError(.invalid, "the deadline must be at least 1 s and attempts 1…100")
        }
        return try await pool.write { db in
            guard let appID = try Int64.fetchOne(db, sql: "SELECT id FROM apps WHERE name = ?", arguments: [job.app])
            else {
                throw RegistryError(.notFound, "no app '\(job.app)'; add it with 'outpost-coordinator app add'")
            }
            for input in job.inputs {
                guard
                    try Bool.fetchOne(db, sql: "SELECT 1 FROM project_files WHERE name = ?", arguments: [input.file])
                        != nil
                else {
                    throw RegistryError(.notFound, "no stored file '\(input.file)'; upload it first")
                }
            }
            let inputs: JSONValue = .array(
                job.inputs.map { ["file": .string($0.file), "open_name": .string($0.openName)] }
            )
            let outputs: JSONValue = .array(job.outputs.map { .string($0) })
            var ids: [Int64] = []
            let now = self.now()
            for _ in 0..<job.count {
                try db.execute(
                    sql: """
                        INSERT INTO jobs (name, app_id, inputs, outputs, command_line, fpops_est, fpops_bound, memory_bound,
                                          disk_bound, max_output_bytes, delay_bound, max_attempts, state, created)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?)
                        """,
                    arguments: [
                        "pending-" + Hex.encode(SecretBytes.random(count: 8)), appID, Self.json(inputs),
                        Self.json(outputs),
                        job.commandLine, job.fpopsEstimate, job.fpopsEstimate * 1000, 1e9, 1e10, job.maximumOutputBytes,
                        deadline, attempts, now,
                    ]
                )
                let id = db.lastInsertedRowID
                try db.execute(sql: "UPDATE jobs SET name = ? WHERE id = ?", arguments: ["\(job.app)_\(id)", id])
                try Self.createResult(db, jobID: id, jobName: "\(job.app)_\(id)", attempt: 0, now: now)
                ids.append(id)
            }
            return ids
        }
    }

    static func createResult(_ db: Database, jobID: Int64, jobName: String, attempt: Int64, now: Double) throws {
        try db.execute(
            sql: "INSERT INTO results (job_id, name, attempt, state, created) VALUES (?, ?, ?, 'unsent', ?)",
            arguments: [jobID, "\(jobName)_\(attempt)", attempt, now]
        )
    }

    static func checkedName(_ name: String) throws -> String {
        do {
            return try FileName.checked(name, in: "file")
        } catch {
            throw RegistryError(.invalid, error.message)
        }
    }
}

/// An admin upload in progress: the file being written and the name it will have.
public struct IncomingFileHandle {
    let file: IncomingFile
    let name: String

    public func append(_ bytes: UnsafeRawBufferPointer) throws {
        try file.append(bytes)
    }
}
