import ArgumentParser
import OutpostClient
import OutpostCore
import OutpostRPC

#if canImport(Glibc)
import Glibc
#endif

/// `outpostctl coordinator`: the node's enrollment, last check-in and status; `coordinator set-key` enrolls it.
struct CoordinatorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "coordinator",
        abstract: "Show the node's enrollment, last check-in and status with its coordinator.",
        subcommands: [Show.self, SetKey.self],
        defaultSubcommand: Show.self
    )

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "show", abstract: "Show the coordinator status.")
        @OptionGroup var global: GlobalOptions

        func run() throws {
            let state = try global.callLanes("getState")
            let coordinator = state["coordinator"] ?? ["state": "unconfigured"]
            global.output(coordinator) { Self.render(coordinator) }
        }

        static func render(_ coordinator: JSONValue) -> String {
            var rows: [(String, String)] = [("State", text(coordinator["state"]))]
            if let url = coordinator["url"]?.stringValue { rows.append(("Coordinator", url)) }
            if let id = coordinator["clientId"]?.stringValue { rows.append(("Client id", id)) }
            if let site = coordinator["site"]?.stringValue { rows.append(("Site", site)) }
            if let status = coordinator["status"]?.stringValue { rows.append(("Status", status)) }
            if let last = coordinator["lastCheckin"]?.numberValue { rows.append(("Last check-in", ago(last))) }
            if let next = coordinator["nextCheckin"]?.numberValue { rows.append(("Next check-in", ago(next))) }
            if let lanes = coordinator["lanes"]?.objectValue, !lanes.isEmpty {
                let disabled = lanes.filter { $0.value["status"]?.stringValue != "online" }.keys.sorted()
                rows.append(
                    (
                        "Lanes",
                        "\(lanes.count) registered"
                            + (disabled.isEmpty ? "" : ", disabled: \(disabled.joined(separator: ", "))")
                    )
                )
            }
            if let error = coordinator["error"]?.stringValue { rows.append(("Problem", error)) }
            return TextTable.keyValue(rows)
        }

        private static func text(_ value: JSONValue?) -> String { value?.stringValue ?? "-" }

        private static func ago(_ time: Double) -> String {
            let delta = Int((time - WallClock.seconds()).rounded())
            if delta >= 0 { return "in \(delta) s" }
            return "\(-delta) s ago"
        }
    }

    struct SetKey: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-key",
            abstract: "Set the node's enrollment key (setLicenseKeyAsync; needs superuser)."
        )
        @Argument(help: "The enrollment token from 'outpost-coordinator token create'.") var key: String
        @Flag(name: .long, help: "Have the coordinator check the key first; an invalid key is not stored.")
        var validate = false
        @OptionGroup var global: GlobalOptions

        func run() throws {
            do {
                let client = try global.connect(superuser: true)
                let submitted = try client.call(
                    "setLicenseKeyAsync",
                    ["key": .string(key), "validate": .bool(validate)]
                )
                guard let id = submitted["requestId"] else {
                    throw ControlClientError(code: .protocolViolation, message: "outpostd returned no requestId")
                }
                let result = try client.call("getRequestResult", ["requestId": id, "timeoutSeconds": 30])
                global.output(result) {
                    var text = "key stored"
                    if let site = result["site"]?.stringValue { text += " (valid for site \(site))" }
                    return text
                }
            } catch {
                throw CommandFailure(error)
            }
        }
    }
}
