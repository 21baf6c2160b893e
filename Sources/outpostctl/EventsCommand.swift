import ArgumentParser
import OutpostClient
import OutpostRPC

#if canImport(Glibc)
import Glibc
#endif

/// `outpostctl events`: the daemon's event log, yours (all of it with `--superuser`), oldest first.
struct EventsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "Show the event log: your requests, or everything with --superuser."
    )
    @OptionGroup var global: GlobalOptions
    @Option(help: "Only events of this name (requestSubmitted, requestFailed, sandboxChanged, …).") var name: String?
    @Option(help: "Only the newest N events.") var limit: Int64?
    @Flag(help: "Keep printing new events as they happen (polls once a second).") var follow = false

    func run() throws {
        do {
            try show()
        } catch {
            throw CommandFailure(error)
        }
    }

    private func show() throws {
        let client = try global.connect()
        var after: Int64?
        repeat {
            var params: [String: JSONValue] = [:]
            if let name { params["eventName"] = .string(name) }
            if let limit, after == nil { params["limit"] = .integer(limit) }
            if let after { params["after"] = .integer(after) }
            let reply = try client.call("getEventLog", .object(params))
            let events = reply["eventLog"]?.arrayValue ?? []
            for event in events {
                if global.json {
                    print(JSONCoding.serializeToString(event))
                } else {
                    print(Self.describe(event))
                }
            }
            after = events.last?["_timestamp"]?.integerValue ?? after ?? 0
            if follow { usleep(1_000_000) }
        } while follow
    }

    /// `2026-11-23T10:00:00.123456Z  requestSubmitted  method=lsAsync path=home:x requestId=3 userName=alice`
    static func describe(_ event: JSONValue) -> String {
        let timestamp = event["_timestamp"]?.integerValue ?? 0
        let name = event["_event"]?.stringValue ?? "?"
        let fields = (event.objectValue ?? [:]).filter { !$0.key.hasPrefix("_") && $0.key != "uid" }
            .sorted { $0.key < $1.key }
            .map { key, value in "\(key)=\(plain(value))" }
        return "\(isoTime(microseconds: timestamp))  \(name)  \(fields.joined(separator: " "))"
    }

    /// A string as is when it is one plain word, else as JSON, so a name with a newline cannot forge a line.
    static func plain(_ value: JSONValue) -> String {
        if let text = value.stringValue, !text.isEmpty,
            text.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value != 0x7F })
        {
            return text
        }
        return JSONCoding.serializeToString(value)
    }

    static func isoTime(microseconds: Int64) -> String {
        var seconds = time_t(microseconds / 1_000_000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        var buffer = [CChar](repeating: 0, count: 32)
        let length = strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%S", &parts)
        let fraction = String(microseconds % 1_000_000)
        let text = String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return text + "." + String(repeating: "0", count: 6 - fraction.count) + fraction + "Z"
    }
}
