import OutpostRPC

#if canImport(Glibc)
import Glibc
#endif

/// A real outpost-coordinator on a free loopback port, in its own temporary state directory, and its admin CLI.
final class Coordinator: @unchecked Sendable {
    let directory: TemporaryDirectory
    let configPath: String
    let port: Int
    private(set) var process: ChildProcess?

    /// Set when the coordinator serves TLS: the CA the admin CLI (and nodes) must trust; the URL is then https.
    var caFile: String?

    var url: String { "\(caFile == nil ? "http" : "https")://127.0.0.1:\(port)" }

    init(
        checkinInterval: Int = 1,
        offlineGrace: Int = 3,
        port: Int? = nil,
        extra: String = "",
        start: Bool = true
    ) throws {
        directory = try TemporaryDirectory()
        self.port = try port ?? Self.freePort()
        configPath = directory.file("coordinator.toml")
        try writeFile(
            configPath,
            """
            [coordinator]
            listen = "127.0.0.1:\(self.port)"
            state_directory = "\(directory.file("state"))"
            checkin_interval = \(checkinInterval)
            offline_grace = \(offlineGrace)
            request_timeout = 5
            \(extra)
            """
        )
        if start { try self.start() }
    }

    func start() throws {
        process = try ChildProcess(
            try BuiltProducts.path("outpost-coordinator"),
            ["serve", "--config", configPath],
            environment: ["PATH": "/usr/bin:/bin"],
            directory: directory
        )
        let started = try eventually {
            (try? cli(["clients", "find", "Client"]))?.status == 0
        }
        guard started else { throw TestFailure("the coordinator did not start:\n\(process?.standardError ?? "")") }
    }

    func stop() throws {
        process?.signal(SIGTERM)
        _ = try process?.waitForExit(timeout: .seconds(10))
        process = nil
    }

    /// Runs the admin command line against this coordinator.
    func cli(_ arguments: [String]) throws -> (status: Int32, output: String, error: String) {
        let child = try ChildProcess(
            try BuiltProducts.path("outpost-coordinator"),
            arguments + ["--config", configPath] + (caFile.map { ["--ca-file", $0] } ?? []),
            environment: ["PATH": "/usr/bin:/bin"],
            directory: directory
        )
        let status = try child.waitForExit(timeout: .seconds(30))
        return (status, child.standardOutput, child.standardError)
    }

    /// `clients find QUERY --json`, parsed.
    func find(_ query: String) throws -> [JSONValue] {
        let result = try cli(["clients", "find", query, "--json"])
        guard result.status == 0, let json = try? JSONCoding.parse(Array(result.output.utf8)),
            let clients = json.arrayValue
        else { throw TestFailure("find '\(query)' failed (\(result.status)): \(result.error)") }
        return clients
    }

    /// A fresh enrollment token, written to a 0600 file; returns the token and the file.
    func token(site: String = "hq") throws -> (token: String, file: String) {
        let result = try cli(["token", "create", "--site", site, "--expires", "1h"])
        let token = result.output.split(whereSeparator: \.isWhitespace).first.map(String.init) ?? ""
        guard result.status == 0, !token.isEmpty else { throw TestFailure("token create failed: \(result.error)") }
        let file = directory.file("token-\(UInt32.random(in: 0...UInt32.max))")
        try writeFile(file, token + "\n", mode: 0o600)
        return (token, file)
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else { throw TestFailure("cannot find a free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
