import ArgumentParser
import OutpostClient
import OutpostRPC
import OutpostState

#if canImport(Glibc)
import Glibc
#endif

extension GlobalOptions {
    /// Connects for the lane calls, which need superuser or the lanes' control group: superuser is asked for, and a
    /// refusal is left for the call itself to explain.
    func connectForLanes(timeoutSeconds: Double?) throws(ControlClientError) -> ControlClient {
        let client = try open(timeoutSeconds: timeoutSeconds)
        _ = try? client.call("superuser")
        return client
    }

    func callLanes(_ method: String, _ params: JSONValue? = nil) throws -> JSONValue {
        do {
            return try connectForLanes(timeoutSeconds: timeout).call(method, params)
        } catch {
            throw CommandFailure(error)
        }
    }
}

/// `outpostctl status`: the lanes and their tasks, as a table.
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Show the lanes and tasks.")
    @OptionGroup var global: GlobalOptions

    func run() throws {
        let state = try global.callLanes("getState")
        global.output(state) { StateTable.render(state) }
    }
}

/// `outpostctl watch`: the live state, redrawn from the stream (`subscribeState`): a snapshot, then updates.
struct WatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Show the lanes and tasks live (with --json: print the stream's messages as they come)."
    )
    @OptionGroup var global: GlobalOptions

    func run() throws {
        do {
            let client = try global.connectForLanes(timeoutSeconds: nil)
            var state = try client.call("subscribeState")
            if global.json {
                print(JSONCoding.serializeToString(state))
                fflush(nil)
            } else {
                redraw(state)
            }
            var lastDraw = ContinuousClock.now
            while true {
                let message = try client.readMessage()
                if global.json {
                    print(JSONCoding.serializeToString(message))
                    fflush(nil)
                    continue
                }
                switch message["method"]?.stringValue {
                case "stateUpdate":
                    if let params = message["params"], let update = StateUpdate(json: params) {
                        try? state.apply(update)
                    }
                case "stateSnapshot":
                    state = message["params"] ?? state
                default:
                    continue
                }
                // At most five redraws a second, however fast updates come.
                if ContinuousClock.now - lastDraw > .milliseconds(200) {
                    redraw(state)
                    lastDraw = .now
                }
            }
        } catch {
            throw CommandFailure(error)
        }
    }

    private func redraw(_ state: JSONValue) {
        print("\u{1B}[H\u{1B}[2J" + StateTable.render(state))
        fflush(nil)
    }
}

/// Which lanes `pause`, `resume` and `finish` act on.
struct LaneSelection: ParsableArguments {
    @Option(name: .customLong("lane"), help: "A lane id; repeat for several (default: every lane).") var lanes: [Int] =
        []

    /// `setState` with this selection (`group`, or no selection for all lanes).
    func set(_ state: String, global: GlobalOptions) throws {
        var params: [String: JSONValue] = ["state": .string(state)]
        if !lanes.isEmpty { params["group"] = .array(lanes.map { .integer(Int64($0)) }) }
        _ = try global.callLanes("setState", .object(params))
    }
}

/// `outpostctl pause|resume|finish [--lane N]…`.
enum LaneModeCommand {
    struct Pause: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "pause",
            abstract: "Stop the lanes' tasks (SIGSTOP) and take no new ones."
        )
        @OptionGroup var global: GlobalOptions
        @OptionGroup var selection: LaneSelection
        func run() throws { try selection.set("pause", global: global) }
    }

    struct Resume: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "resume",
            abstract: "Continue paused tasks and take new ones (Folding@home's fold)."
        )
        @OptionGroup var global: GlobalOptions
        @OptionGroup var selection: LaneSelection
        func run() throws { try selection.set("fold", global: global) }
    }

    struct Finish: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "finish",
            abstract: "Complete the running tasks, take no new ones, then pause."
        )
        @OptionGroup var global: GlobalOptions
        @OptionGroup var selection: LaneSelection
        func run() throws { try selection.set("finish", global: global) }
    }
}

/// `outpostctl abort TASK`.
struct AbortCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "abort",
        abstract: "Abort a queued or running task (SIGTERM, then SIGKILL after the grace period)."
    )
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The task id.") var taskId: Int64

    func run() throws {
        _ = try global.callLanes("abortTask", ["taskId": .integer(taskId)])
    }
}

/// `outpostctl submit -- PROGRAM ARGS…`: queues a local task.
struct SubmitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "submit",
        abstract: "Queue a task on this node: outpostctl submit [--name N] [--max-runtime S] -- /path/to/program args…"
    )
    @OptionGroup var global: GlobalOptions
    @Option(help: "A label for the task.") var name: String?
    @Option(help: "Seconds the task may run.") var maxRuntime: Int64?
    @Option(help: "Bytes of memory the task may use.") var memoryLimit: Int64?
    @Option(help: "A slot-relative file the task must create (repeatable).") var output: [String] = []
    @Argument(parsing: .captureForPassthrough, help: "The absolute path of the program, then its arguments.")
    var command: [String]

    func run() throws {
        let words = command.first == "--" ? Array(command.dropFirst()) : command
        guard let executable = words.first else { throw ValidationError("give the program to run after --") }
        var limits: [String: JSONValue] = [:]
        if let maxRuntime { limits["maxRuntimeSeconds"] = .integer(maxRuntime) }
        if let memoryLimit { limits["memoryLimitBytes"] = .integer(memoryLimit) }
        var task: [String: JSONValue] = [
            "executable": .string(executable),
            "arguments": .array(words.dropFirst().map { .string($0) }),
            "outputFiles": .array(output.map { .string($0) }),
            "limits": .object(limits),
        ]
        if let name { task["name"] = .string(name) }
        let reply = try global.callLanes("submitTask", ["task": .object(task)])
        global.output(reply) { "task \(reply["taskId"]?.integerValue ?? 0) queued" }
    }
}

/// The text form of the state tree: a lanes table and a tasks table.
enum StateTable {
    static func render(_ state: JSONValue) -> String {
        var lines: [[String]] = [["LANE", "MODE", "STATE", "TASK", "CPUS", "BENCHMARK"]]
        let lanes = (state["lanes"]?.objectValue ?? [:]).values.sorted {
            ($0["id"]?.integerValue ?? 0) < ($1["id"]?.integerValue ?? 0)
        }
        for lane in lanes {
            lines.append([
                text(lane["id"]), text(lane["mode"]), text(lane["state"]), text(lane["task"]), text(lane["cpus"]),
                text(lane["benchmark"]),
            ])
        }
        var output = columns(lines)
        var taskLines: [[String]] = [["TASK", "STATE", "LANE", "PROGRESS", "RUNTIME", "NAME", "REASON"]]
        let tasks = (state["tasks"]?.objectValue ?? [:]).values.sorted {
            ($0["id"]?.integerValue ?? 0) < ($1["id"]?.integerValue ?? 0)
        }
        for task in tasks {
            let progress = Int(((task["progress"]?.numberValue ?? 0) * 100).rounded())
            taskLines.append([
                text(task["id"]), text(task["state"]), text(task["lane"]), "\(progress)%",
                "\(text(task["runtime"])) s", text(task["name"] ?? task["executable"]), text(task["reason"]),
            ])
        }
        output += "\n\n" + columns(taskLines)
        if let coordinator = state["coordinator"], coordinator["state"]?.stringValue != "unconfigured" {
            let status = coordinator["status"]?.stringValue ?? coordinator["state"]?.stringValue ?? "-"
            output =
                "Coordinator: \(status)" + (coordinator["error"]?.stringValue.map { " (\($0))" } ?? "") + "\n\n"
                + output
        }
        return output
    }

    private static func text(_ value: JSONValue?) -> String {
        switch value {
        case .none, .some(.null): "-"
        // Control characters would let a task's name or reason redraw the terminal: shown as "?".
        case .some(.string(let text)):
            String(text.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? "?" : Character($0) })
        case .some(.integer(let number)): String(number)
        case .some(.double(let number)): String(number)
        case .some(let other): JSONCoding.serializeToString(other)
        }
    }

    private static func columns(_ rows: [[String]]) -> String {
        guard let first = rows.first else { return "" }
        let widths = first.indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[index] - cell.count + 2)
            }.joined()
        }.joined(separator: "\n")
    }
}
