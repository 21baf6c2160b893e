import ArgumentParser
import OutpostClient
import OutpostRPC

#if canImport(Glibc)
import Glibc
#endif

/// Options of every file command: wait for the result (the default) or print the request id.
struct RequestOptions: ParsableArguments {
    @Flag(name: .long, help: "Print the request id and return at once instead of waiting for the result.")
    var async = false
}

extension GlobalOptions {
    /// Submits an `*Async` call and, unless `async`, waits for and returns its result.
    func submit(_ method: String, _ params: JSONValue?, async: Bool) throws -> (id: JSONValue, result: JSONValue?) {
        do {
            let client = try connect()
            let submitted = try client.call(method, params)
            guard let id = submitted["requestId"] else {
                throw ControlClientError(code: .protocolViolation, message: "outpostd returned no requestId")
            }
            if async { return (id, nil) }
            if !json && isatty(STDOUT_FILENO) == 1 {
                try ProgressLine.wait(for: id, method: method, client: client)
            }
            return (id, try client.call("getRequestResult", ["requestId": id]))
        } catch {
            throw CommandFailure(error)
        }
    }

    /// What `--async` prints: the id alone, or `{"requestId": N}` with `--json`.
    func printRequestID(_ id: JSONValue) {
        output(["requestId": id]) { "\(id.integerValue ?? 0)" }
    }
}

struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List a directory (root:path).")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var request: RequestOptions
    @Flag(name: .shortAndLong, help: "Describe the path itself, not its contents.") var directory = false
    @Argument(help: "The path, as root:relative/path.") var path: String

    func run() throws {
        let (id, result) = try global.submit(
            "lsAsync",
            ["path": .string(path), "directory": .bool(directory)],
            async: request.async
        )
        guard let result else { return global.printRequestID(id) }
        global.output(result) {
            let files = (result["files"]?.arrayValue ?? []).sorted {
                ($0["name"]?.stringValue ?? "") < ($1["name"]?.stringValue ?? "")
            }
            return files.map { file in
                let type = ["2": "d", "4": "-", "5": "l", "10": "r"][String(file["type"]?.integerValue ?? 0)] ?? "?"
                let access = file["access"]?.integerValue ?? 0
                let bits = (access & 4 != 0 ? "r" : "-") + (access & 2 != 0 ? "w" : "-") + (access & 1 != 0 ? "x" : "-")
                let size = String(file["size"]?.integerValue ?? 0)
                return
                    "\(type)\(bits) \(String(repeating: " ", count: max(0, 12 - size.count)))\(size)  \(file["name"]?.stringValue ?? "")"
            }.joined(separator: "\n")
        }
    }
}

struct RootsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "roots",
        abstract: "List the sandbox roots you may use."
    )
    @OptionGroup var global: GlobalOptions

    func run() throws {
        let (_, result) = try global.submit("lsRootsAsync", nil, async: false)
        let value = result ?? .null
        global.output(value) {
            (value["files"]?.arrayValue ?? []).map { "\($0["name"]?.stringValue ?? ""):" }.joined(separator: "\n")
        }
    }
}

struct DiskUsageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "du",
        abstract: "Total apparent size of a tree, in bytes."
    )
    @OptionGroup var global: GlobalOptions
    @OptionGroup var request: RequestOptions
    @Argument(help: "The path, as root:relative/path.") var path: String

    func run() throws {
        let (id, result) = try global.submit("duAsync", ["path": .string(path)], async: request.async)
        guard let result else { return global.printRequestID(id) }
        global.output(result) { "\(result["du"]?.integerValue ?? 0)\t\(path)" }
    }
}

/// mkdir, mv and rm: a request whose result is null.
struct MutationCommand {
    static func run(_ global: GlobalOptions, _ request: RequestOptions, _ method: String, _ params: JSONValue) throws {
        let (id, _) = try global.submit(method, params, async: request.async)
        if request.async { global.printRequestID(id) }
    }
}

struct MakeDirectoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mkdir",
        abstract: "Create a directory and its parents."
    )
    @OptionGroup var global: GlobalOptions
    @OptionGroup var request: RequestOptions
    @Argument(help: "The path, as root:relative/path.") var path: String

    func run() throws { try MutationCommand.run(global, request, "mkdirAsync", ["path": .string(path)]) }
}

struct MoveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "mv", abstract: "Move or rename a path.")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var request: RequestOptions
    @Argument(help: "The path to move.") var path: String
    @Argument(help: "Where to move it.") var newPath: String

    func run() throws {
        try MutationCommand.run(global, request, "mvAsync", ["path": .string(path), "newPath": .string(newPath)])
    }
}

struct RemoveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rm",
        abstract: "Remove a path, recursively; symlinks are removed, never followed."
    )
    @OptionGroup var global: GlobalOptions
    @OptionGroup var request: RequestOptions
    @Argument(help: "The path, as root:relative/path.") var path: String

    func run() throws { try MutationCommand.run(global, request, "rmAsync", ["path": .string(path)]) }
}
