import ArgumentParser
import OutpostRPC

/// `outpostctl info`: who the node is and who you are to it.
struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Show the node's name, version and identity, and how it sees you."
    )

    @OptionGroup var global: GlobalOptions

    func run() throws {
        let info = try global.call("getServerInfo")
        global.output(info) {
            let rows: [(String, String)] = [
                ("Name", info["name"]?.stringValue ?? "?"),
                ("Version", "\(info["version"]?.stringValue ?? "?") (API \(info["apiVersion"]?.stringValue ?? "?"))"),
                ("Build", info["revision"]?.stringValue ?? "?"),
                ("Node ID", info["nodeId"]?.stringValue ?? "?"),
                ("Instance", info["instanceId"]?.stringValue ?? "?"),
                (
                    "You are",
                    "\(info["userName"]?.stringValue ?? "?")\(info["superuser"]?.boolValue == true ? " (superuser)" : "")"
                ),
            ]
            return TextTable.keyValue(rows)
        }
    }
}

/// `outpostctl echo TEXT`: the cheapest round trip, to check the daemon answers.
struct EchoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "echo",
        abstract: "Send text to outpostd and print what comes back (a liveness check)."
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The text to send; without it outpostd answers null.")
    var text: String?

    func run() throws {
        let result = try global.call("echo", text.map { ["text": .string($0)] })
        global.output(result) { result.stringValue ?? "" }
    }
}
