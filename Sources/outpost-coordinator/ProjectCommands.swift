import ArgumentParser
import NIOCore
import OutpostCheckin
import OutpostCore
import OutpostCrypto
import OutpostRPC
import OutpostService

#if canImport(Glibc)
import Glibc
#endif

/// `app add`: an app version for BOINC-compatible clients, its files uploaded and signed by the coordinator.
struct AppCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "app",
        abstract: "Apps the project runs.",
        subcommands: [Add.self]
    )

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add an app version; the first file is the main program unless --main names another."
        )

        @Argument(help: "The app's name (one word).")
        var name: String

        @Argument(help: ArgumentHelp("The version's files.", valueName: "file"))
        var files: [String]

        @Option(name: .long, help: "The platform it runs on.")
        var platform = "x86_64-pc-linux-gnu"

        @Option(name: .long, help: "The version number (default: the next one).")
        var version: Int?

        @Option(
            name: .long,
            help: ArgumentHelp("The main program among the files (default: the first).", valueName: "file")
        )
        var main: String?

        @OptionGroup var admin: AdminOptions

        func run() async throws {
            guard !files.isEmpty else { throw ValidationError("give at least one file (the main program)") }
            let mainFile = main ?? files[0]
            guard files.contains(mainFile) else { throw ValidationError("--main \(mainFile) is not among the files") }
            let stored = try await admin.withConnection { (connection, authorization) throws(CoordinatorCallError) in
                var stored: [JSONValue] = []
                for file in files {
                    let base = String(file.split(separator: "/").last ?? Substring(file))
                    let answer = try await connection.putFile(
                        "/api/v1/admin/files/\(name)_\(try StoredName.digestPrefix(file))_\(base)",
                        filePath: file,
                        authorization: authorization
                    )
                    stored.append([
                        "name": answer["name"] ?? .null, "open_name": .string(base), "main": .bool(file == mainFile),
                    ])
                }
                return stored
            }
            var body: [String: JSONValue] = [
                "name": .string(name), "platform": .string(platform), "files": .array(stored),
            ]
            if let version { body["version"] = .integer(Int64(version)) }
            let answer = try await admin.call("app_add", .object(body))
            if admin.json {
                print(JSONCoding.serializeToString(answer))
            } else {
                print(
                    "\(name) version \(answer["version"]?.integerValue ?? 0) for \(platform): \(files.count) file(s), signed"
                )
            }
        }
    }
}

/// Names of stored files carry the first 12 hex digits of their MD5: stored files are immutable, so two versions of
/// `run.sh` never collide, and submitting the same input twice stores it once.
enum StoredName {
    static func digestPrefix(_ path: String) throws(CoordinatorCallError) -> String {
        guard let chunks = FileChunks(path: path) else {
            throw CoordinatorCallError(kind: .refused(status: 0), message: "cannot read \(path)")
        }
        var digest = MessageDigest(.md5)
        while let chunk = try? chunks.next() { digest.update(chunk) }
        return String(Hex.encode(digest.finish()).prefix(12))
    }
}

/// `account create`: an authenticator for a BOINC client (nodes use their check-in credentials).
struct AccountCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "account",
        abstract: "Accounts for BOINC clients that attach to this project.",
        subcommands: [Create.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make an account; prints its authenticator once.")

        @Argument(help: "The account's name.")
        var name: String

        @OptionGroup var admin: AdminOptions

        func run() async throws {
            let answer = try await admin.call("account_create", ["name": .string(name)])
            if admin.json {
                print(JSONCoding.serializeToString(answer))
            } else {
                print(answer["authenticator"]?.stringValue ?? "")
            }
        }
    }
}

/// `submit`: jobs for an app, each with the given inputs; prints the job ids.
struct SubmitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "submit",
        abstract: "Submit jobs: each runs the app with the inputs in its working directory."
    )

    @Argument(help: "The app to run.")
    var app: String

    @Option(
        name: .long,
        help: ArgumentHelp(
            "An input file, optionally with the name the job opens it by: FILE or FILE=NAME.",
            valueName: "file"
        )
    )
    var input: [String] = []

    @Option(name: .long, help: ArgumentHelp("A file the job must leave (default: out.txt).", valueName: "name"))
    var output: [String] = []

    @Option(name: .long, help: "How many jobs with these inputs.")
    var count = 1

    @Option(name: .long, help: ArgumentHelp("Seconds (or 30m, 24h) a host has to report a job.", valueName: "duration"))
    var deadline: String?

    @Option(name: .long, help: "Attempts a job gets before it fails.")
    var attempts: Int?

    @Option(name: .long, help: "Estimated floating-point operations of one job (weighs dispatch).")
    var fpops: Double?

    @Option(name: .long, help: "The largest output, in bytes.")
    var maxOutputBytes: Double?

    @OptionGroup var admin: AdminOptions

    func run() async throws {
        let pairs = input.map { text -> (path: String, openName: String) in
            let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
            let base = String(parts[0].split(separator: "/").last ?? Substring(parts[0]))
            return (parts[0], parts.count == 2 ? parts[1] : base)
        }
        let inputs = try await admin.withConnection { (connection, authorization) throws(CoordinatorCallError) in
            var inputs: [JSONValue] = []
            for pair in pairs {
                let base = String(pair.path.split(separator: "/").last ?? Substring(pair.path))
                let answer = try await connection.putFile(
                    "/api/v1/admin/files/in_\(try StoredName.digestPrefix(pair.path))_\(base)",
                    filePath: pair.path,
                    authorization: authorization
                )
                inputs.append(["file": answer["name"] ?? .null, "open_name": .string(pair.openName)])
            }
            return inputs
        }
        var body: [String: JSONValue] = [
            "app": .string(app), "inputs": .array(inputs), "count": .integer(Int64(count)),
        ]
        if !output.isEmpty { body["outputs"] = .array(output.map { .string($0) }) }
        if let deadline {
            guard let value = seconds(fromDuration: deadline) else {
                throw ValidationError("--deadline takes 30m, 24h…")
            }
            body["deadline_seconds"] = .double(value)
        }
        if let attempts { body["max_attempts"] = .integer(Int64(attempts)) }
        if let fpops { body["fpops_est"] = .double(fpops) }
        if let maxOutputBytes { body["max_output_bytes"] = .double(maxOutputBytes) }
        let answer = try await admin.call("submit", .object(body))
        if admin.json {
            print(JSONCoding.serializeToString(answer))
        } else {
            let ids = answer["jobs"]?.arrayValue?.compactMap(\.integerValue) ?? []
            print(
                "submitted \(ids.count) job(s): \(ids.first.map(String.init) ?? "")\(ids.count > 1 ? "…\(ids.last!)" : "")"
            )
        }
    }
}

/// `results`: jobs with their state, attempts, exit status, stderr and outputs.
struct ResultsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "results",
        abstract: "Show jobs and their results (--summary for counts by state)."
    )

    @Option(name: .long, help: "Only this job.")
    var job: Int?

    @Option(name: .long, help: "Only jobs in this state: queued, running, done, failed, cancelled.")
    var state: String?

    @Flag(name: .long, help: "Counts of jobs by state.")
    var summary = false

    @Flag(name: .long, help: "Include each result's stderr.")
    var stderr = false

    @OptionGroup var admin: AdminOptions

    func run() async throws {
        if summary {
            let counts = try await admin.call("job_summary", [:])
            if admin.json {
                print(JSONCoding.serializeToString(counts))
                return
            }
            let order = ["queued", "running", "done", "failed", "cancelled"]
            print(order.map { "\($0) \(counts[$0]?.integerValue ?? 0)" }.joined(separator: "  "))
            return
        }
        var body: [String: JSONValue] = [:]
        if let job { body["id"] = .integer(Int64(job)) }
        if let state { body["state"] = .string(state) }
        let jobs = try await admin.call("jobs", .object(body))
        if admin.json {
            print(JSONCoding.serializeToString(jobs))
            return
        }
        for job in jobs.arrayValue ?? [] {
            let results = job["results"]?.arrayValue ?? []
            var line =
                "\(job["id"]?.integerValue ?? 0)\t\(job["name"]?.stringValue ?? "")\t\(job["state"]?.stringValue ?? "")"
            line += "\tattempts \(results.count)"
            if let error = job["error"]?.stringValue { line += "\t\(error)" }
            print(line)
            for result in results {
                var detail =
                    "  \(result["name"]?.stringValue ?? "")\t\(result["outcome"]?.stringValue ?? result["state"]?.stringValue ?? "")"
                if let host = result["hostName"]?.stringValue { detail += "\thost \(host)" }
                if let status = result["exitStatus"]?.integerValue { detail += "\texit \(status)" }
                if let error = result["error"]?.stringValue { detail += "\t\(error)" }
                for output in result["outputs"]?.arrayValue ?? [] {
                    detail +=
                        "\n    output \(output["open_name"]?.stringValue ?? ""): \(output["path"]?.stringValue ?? "") (\(output["nbytes"]?.integerValue ?? 0) bytes)"
                }
                if stderr, let text = result["stderr"]?.stringValue, !text.isEmpty {
                    detail += "\n    stderr: " + text.split(separator: "\n").joined(separator: "\n            ")
                }
                print(detail)
            }
        }
    }
}

/// `cancel JOB...`: jobs end as cancelled; hosts running them are told to abort at their next RPC.
struct CancelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cancel",
        abstract: "Cancel jobs (ids from 'results'): unsent results are dropped, running ones aborted on their hosts."
    )

    @Argument(help: ArgumentHelp("The jobs to cancel.", valueName: "job"))
    var jobs: [Int64]

    @OptionGroup var admin: AdminOptions

    func run() async throws {
        let answer = try await admin.call("job_cancel", ["ids": .array(jobs.map(JSONValue.integer))])
        if admin.json {
            print(JSONCoding.serializeToString(answer))
            return
        }
        print(
            "cancelled \(answer["cancelled"]?.integerValue ?? 0) job(s); "
                + "\(answer["aborting"]?.integerValue ?? 0) result(s) to abort on their hosts"
        )
    }
}

/// `output NAME`: an uploaded output file, to standard output.
struct OutputCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "output",
        abstract: "Write a result's output file (a name from 'results') to standard output."
    )

    @Argument(help: "The output's name, for example app_12_0_r0.")
    var name: String

    @OptionGroup var admin: AdminOptions

    func run() async throws {
        try await admin.withConnection { (connection, authorization) throws(CoordinatorCallError) in
            try await connection.download("/api/v1/admin/outputs/\(name)", authorization: authorization) { chunk in
                chunk.withUnsafeReadableBytes { bytes in
                    var offset = 0
                    while offset < bytes.count {
                        let written = write(1, bytes.baseAddress! + offset, bytes.count - offset)
                        guard written > 0 else { return }
                        offset += written
                    }
                }
            }
        }
    }
}
