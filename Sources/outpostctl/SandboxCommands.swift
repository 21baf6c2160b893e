import ArgumentParser
import OutpostRPC

/// `outpostctl sandbox get|set|delete` and `outpostctl gc`: superuser calls.
struct SandboxCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sandbox",
        abstract: "Show or change which directories each user reaches (superuser).",
        subcommands: [Get.self, Set.self, Delete.self]
    )

    struct Get: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show every mapping.")
        @OptionGroup var global: GlobalOptions

        func run() throws {
            let mappings = try global.call("getSandboxMappings", superuser: true)
            global.output(mappings) {
                (mappings.objectValue ?? [:]).sorted { $0.key < $1.key }.map { user, roots in
                    let name = user.isEmpty ? "(everyone else)" : user
                    guard let named = roots.objectValue else { return "\(name)\tnot sandboxed" }
                    let list = named.sorted { $0.key < $1.key }.map { "\($0.key):=\($0.value.stringValue ?? "")" }
                    return "\(name)\t\(list.joined(separator: " "))"
                }.joined(separator: "\n")
            }
        }
    }

    struct Set: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set a user's roots: NAME=/absolute/path …, or --unrestricted. \"\" is everyone without one."
        )
        @OptionGroup var global: GlobalOptions
        @Flag(help: "Not sandboxed: the whole file system, within the daemon's own permissions.") var unrestricted =
            false
        @Argument(help: "The user name.") var userName: String
        @Argument(help: "Roots as NAME=/absolute/path (%u becomes the user name).") var roots: [String] = []

        func validate() throws {
            if unrestricted == !roots.isEmpty {
                throw ValidationError("give either roots (NAME=/path …) or --unrestricted")
            }
        }

        func run() throws {
            var named: [String: JSONValue] = [:]
            for root in roots {
                guard let equals = root.firstIndex(of: "=") else {
                    throw ValidationError("'\(root)' is not NAME=/absolute/path")
                }
                named[String(root[..<equals])] = .string(String(root[root.index(after: equals)...]))
            }
            let sandboxRoots: JSONValue = unrestricted ? false : .object(named)
            _ = try global.call(
                "setSandboxMapping",
                ["userName": .string(userName), "sandboxRoots": sandboxRoots],
                superuser: true
            )
        }
    }

    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a user's mapping.")
        @OptionGroup var global: GlobalOptions
        @Argument var userName: String

        func run() throws {
            _ = try global.call("deleteSandboxMapping", ["userName": .string(userName)], superuser: true)
        }
    }
}

struct GarbageCollectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gc",
        abstract: "Sweep finished requests now (superuser)."
    )
    @OptionGroup var global: GlobalOptions
    @Flag(help: "Remove every finished request, ignoring the time limit.") var force = false

    func run() throws {
        _ = try global.call("garbageCollect", ["force": .bool(force)], superuser: true)
    }
}
