import ArgumentParser
import OutpostRPC

struct ClientsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clients",
        abstract: "Find, disable, enable, update and delete clients.",
        subcommands: [Find.self, Disable.self, Enable.self, Update.self, Delete.self]
    )

    struct Find: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List clients matching a query, e.g. 'Client where type=1 and status=online'."
        )

        @Argument(help: "The query (default: every client).")
        var query = "Client"

        @OptionGroup var admin: AdminOptions

        func run() async throws {
            let answer = try await admin.call("find", ["entity": "Client", "query": .string(query)])
            if admin.json {
                print(JSONCoding.serializeToString(answer))
            } else {
                print(ClientTable.render(answer.arrayValue ?? []))
            }
        }
    }

    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Disable a client: it takes no new work.")
        @Argument(help: "The client id.") var id: String
        @OptionGroup var admin: AdminOptions

        func run() async throws {
            try await update(admin, id: id, data: ["status": "disabled"])
        }
    }

    struct Enable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Enable a disabled client again.")
        @Argument(help: "The client id.") var id: String
        @OptionGroup var admin: AdminOptions

        func run() async throws {
            try await update(admin, id: id, data: ["status": "online"])
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Change a client's description, site or metadata.")
        @Argument(help: "The client id.") var id: String
        @Option(name: .long, help: "The new description.") var description: String?
        @Option(name: .long, help: "The new site (name or id).") var site: String?
        @Option(name: .long, help: ArgumentHelp("The new metadata, a JSON object.", valueName: "json"))
        var metadata: String?
        @OptionGroup var admin: AdminOptions

        func run() async throws {
            var data: [String: JSONValue] = [:]
            if let description { data["description"] = .string(description) }
            if let site { data["site"] = .string(site) }
            if let metadata {
                guard let value = try? JSONCoding.parse(Array(metadata.utf8)), case .object = value else {
                    throw ValidationError("--metadata must be a JSON object")
                }
                data["metadata"] = value
            }
            guard !data.isEmpty else { throw ValidationError("give --description, --site or --metadata") }
            try await update(admin, id: id, data: .object(data))
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete an offline client and its lanes."
        )
        @Argument(help: "The client id.") var id: String
        @OptionGroup var admin: AdminOptions

        func run() async throws {
            let answer = try await admin.call("delete_one", ["entity": "Client", "id": .string(id)])
            print(admin.json ? JSONCoding.serializeToString(answer) : "deleted \(id)")
        }
    }
}

private func update(_ admin: AdminOptions, id: String, data: JSONValue) async throws {
    let answer = try await admin.call("update", ["entity": "Client", "id": .string(id), "data": data])
    if admin.json {
        print(JSONCoding.serializeToString(answer))
    } else {
        print(ClientTable.render([answer]))
    }
}
