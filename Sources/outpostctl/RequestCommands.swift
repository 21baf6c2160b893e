import ArgumentParser
import OutpostRPC

/// `outpostctl request status|result|cancel|list`.
struct RequestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "request",
        abstract: "Follow asynchronous requests.",
        subcommands: [Status.self, Result.self, Cancel.self, List.self]
    )

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a request's status.")
        @OptionGroup var global: GlobalOptions
        @Argument var requestId: Int64

        func run() throws {
            let status = try global.call("getRequestStatus", ["requestId": .integer(requestId)])
            global.output(status) { RequestCommand.describe(status) }
        }
    }

    struct Result: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Wait for a request and print its result.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Give up after this many seconds.") var wait: Int64?
        @Argument var requestId: Int64

        func run() throws {
            var params: [String: JSONValue] = ["requestId": .integer(requestId)]
            if let wait { params["timeoutSeconds"] = .integer(wait) }
            let result = try global.call("getRequestResult", .object(params))
            print(JSONCoding.serializeToString(result))
        }
    }

    struct Cancel: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Cancel a request; a running du or rm stops promptly."
        )
        @OptionGroup var global: GlobalOptions
        @Argument var requestId: Int64

        func run() throws {
            _ = try global.call("cancelRequest", ["requestId": .integer(requestId)])
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List your requests (all, as a superuser).")
        @OptionGroup var global: GlobalOptions

        func run() throws {
            let list = try global.call("listRequests")
            global.output(list) { (list.arrayValue ?? []).map(RequestCommand.describe).joined(separator: "\n") }
        }
    }

    static func describe(_ status: JSONValue) -> String {
        let id = status["requestId"]?.integerValue ?? 0
        let state = status["status"]?.stringValue ?? "?"
        let method = status["method"]?.stringValue ?? "?"
        let error = status["errorMessage"]?.stringValue.map { ": \($0)" } ?? ""
        return "\(id)\t\(method)\t\(state)\(error)"
    }
}
