import ArgumentParser
import OutpostRPC
import OutpostService

struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Enrollment tokens: what a new node starts with to register once.",
        subcommands: [Create.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make an enrollment token (shown once; only its hash is kept)."
        )

        @Option(name: .long, help: "The site the nodes it enrolls belong to.")
        var site: String

        @Option(name: .long, help: ArgumentHelp("How long it may be used: 30m, 24h, 7d.", valueName: "duration"))
        var expires = "24h"

        @Option(name: .long, help: "How many nodes it may enroll (default: any number until it expires).")
        var uses: Int?

        @OptionGroup var admin: AdminOptions

        func run() async throws {
            guard let lifetime = seconds(fromDuration: expires) else {
                throw ValidationError("--expires takes a duration such as 30m, 24h or 7d")
            }
            var body: [String: JSONValue] = ["site": .string(site), "expires_seconds": .double(lifetime)]
            if let uses { body["uses"] = .integer(Int64(uses)) }
            let answer = try await admin.call("tokens", .object(body))
            if admin.json {
                print(JSONCoding.serializeToString(answer))
            } else {
                print(answer["token"]?.stringValue ?? "")
                StandardError.write(
                    line:
                        "token for site \(answer["site"]?.stringValue ?? site), valid until "
                        + "\(answer["expires"]?.stringValue ?? "?") UTC; put it in the node's enrollment_token_file"
                )
            }
        }
    }
}
