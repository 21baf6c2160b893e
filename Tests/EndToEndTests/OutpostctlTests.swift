import OutpostClient
import OutpostRPC
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// outpostctl as a script uses it: output, --json, and exit codes.
@Suite("outpostctl (real binaries)")
struct OutpostctlTests {
    func run(
        _ arguments: [String],
        directory: TemporaryDirectory
    ) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = try ChildProcess(
            try BuiltProducts.path("outpostctl"),
            arguments,
            environment: ["PATH": "/usr/bin:/bin"],
            directory: directory
        )
        let status = try process.waitForExit(timeout: .seconds(20))
        return (status, process.standardOutput, process.standardError)
    }

    @Test("info and echo against a running daemon")
    func infoAndEcho() throws {
        let daemon = try Daemon()
        let info = try run(["info", "--socket", daemon.socketPath], directory: daemon.directory)
        #expect(info.status == 0)
        #expect(info.stdout.contains("Node ID:"))
        let json = try run(["info", "--json", "--socket", daemon.socketPath], directory: daemon.directory)
        let parsed = try JSONCoding.parse(Array(json.stdout.utf8))
        #expect(parsed["nodeId"]?.stringValue?.count == 36)
        #expect(parsed["version"] != nil)
        let echo = try run(["echo", "hello there", "--socket", daemon.socketPath], directory: daemon.directory)
        #expect(echo.status == 0)
        #expect(echo.stdout == "hello there\n")
        #expect(try daemon.stop() == 0)
    }

    @Test("global options before the subcommand, nested ones too, and after it, as kubectl and systemctl take them")
    func globalOptionsFirst() throws {
        let daemon = try Daemon()
        let socket = daemon.socketPath
        let info = try run(["--socket", socket, "--json", "info"], directory: daemon.directory)
        #expect(info.status == 0, "\(info)")
        #expect(try JSONCoding.parse(Array(info.stdout.utf8))["nodeId"] != nil)
        let echo = try run(["--socket=\(socket)", "--timeout", "5", "echo", "hi"], directory: daemon.directory)
        #expect(echo.status == 0 && echo.stdout == "hi\n", "\(echo)")
        let nested = try run(
            ["--superuser", "--socket", socket, "sandbox", "get", "--json"],
            directory: daemon.directory
        )
        #expect(nested.status == 0, "\(nested)")
        // An option before the subcommand that is not a global one is still refused.
        let unknown = try run(["--no-such-option", "info", "--socket", socket], directory: daemon.directory)
        #expect(unknown.status == 64)
        // --user-server needs the login session's runtime directory, and names one socket too many with --socket.
        let noSession = try run(["--user-server", "info"], directory: daemon.directory)
        #expect(noSession.status == 64 && noSession.stderr.contains("XDG_RUNTIME_DIR"), "\(noSession)")
        let both = try run(["info", "--user-server", "--socket", socket], directory: daemon.directory)
        #expect(both.status == 64 && both.stderr.contains("give one"), "\(both)")
        #expect(try daemon.stop() == 0)
    }

    @Test("user add/list/remove and token create/list/revoke, passwords from files")
    func usersAndTokens() throws {
        let daemon = try Daemon()
        let socket = ["--socket", daemon.socketPath]
        let passwordFile = daemon.directory.file("password")
        try writeFile(passwordFile, "a-long-password\n", mode: 0o600)
        let user = UnixUserName.current
        #expect(
            try run(["user", "add", user, "--password-file", passwordFile] + socket, directory: daemon.directory).status
                == 0
        )
        #expect(try run(["user", "list"] + socket, directory: daemon.directory).stdout == user + "\n")
        let short = daemon.directory.file("short")
        try writeFile(short, "short\n", mode: 0o600)
        let refused = try run(["user", "add", user, "--password-file", short] + socket, directory: daemon.directory)
        #expect(refused.status == 1 && refused.stderr.contains("8 to 1024 bytes"))
        let unknown = try run(
            ["user", "add", "no-such-unix-user", "--password-file", passwordFile] + socket,
            directory: daemon.directory
        )
        #expect(unknown.status == 1 && unknown.stderr.contains("not a user of this machine"))

        let made = try run(
            ["token", "create", "--expires", "24h", "--password-file", passwordFile, "--json"] + socket,
            directory: daemon.directory
        )
        #expect(made.status == 0)
        let token = try JSONCoding.parse(Array(made.stdout.utf8))
        let id = try #require(token["tokenId"]?.stringValue)
        #expect(token["token"]?.stringValue?.hasPrefix(id + ".") == true && token["hasPassword"] == true)
        let expires = try #require(token["expires"]?.integerValue)
        #expect(abs(expires - Int64(time(nil)) - 86400) < 60)
        #expect(try run(["token", "create", "--expires", "soon"] + socket, directory: daemon.directory).status == 64)
        let listed = try run(["token", "list"] + socket, directory: daemon.directory).stdout
        #expect(listed.contains(id) && listed.contains("valid"))
        #expect(try run(["token", "revoke", id] + socket, directory: daemon.directory).status == 0)
        #expect(try run(["token", "list"] + socket, directory: daemon.directory).stdout.contains("revoked"))
        #expect(try run(["token", "revoke", id] + socket, directory: daemon.directory).status == 1)
        #expect(try run(["user", "remove", user] + socket, directory: daemon.directory).status == 0)
        #expect(try run(["user", "list"] + socket, directory: daemon.directory).stdout == "\n")
        // Nothing secret in the credentials file, which only the daemon's user may read.
        let stored = try readFile(daemon.stateDirectory + "/remote-credentials.json")
        #expect(!stored.contains("a-long-password") && !stored.contains(token["token"]!.stringValue!))
        var status = stat()
        stat(daemon.stateDirectory + "/remote-credentials.json", &status)
        #expect(status.st_mode & 0o777 == 0o600)
    }

    @Test("no daemon: exit 69 and a message that says what to do")
    func noDaemon() throws {
        let directory = try TemporaryDirectory()
        let result = try run(["info", "--socket", directory.file("absent.sock")], directory: directory)
        #expect(result.status == 69)
        #expect(result.stderr.contains("is outpostd running?"))
    }

    @Test("usage errors exit 64")
    func usage() throws {
        let directory = try TemporaryDirectory()
        #expect(try run(["no-such-command"], directory: directory).status == 64)
    }

    @Test("a stale socket file with nothing listening: exit 69")
    func staleSocket() throws {
        let daemon = try Daemon()
        let socketPath = daemon.socketPath
        daemon.process.signal(SIGKILL)
        _ = try daemon.process.waitForExit(timeout: .seconds(5))
        #expect(fileExists(socketPath))  // kill -9 leaves it behind
        let result = try run(["echo", "--socket", socketPath], directory: daemon.directory)
        #expect(result.status == 69)
        #expect(result.stderr.contains("nothing is listening"))
        // And a new daemon takes the stale path over.
        let restarted = try Daemon(directory: daemon.directory)
        #expect(try restarted.client().call("echo", ["text": "back"]) == "back")
        #expect(try restarted.stop() == 0)
    }

    @Test("file commands: mkdir, ls, du, mv, rm, roots, request list, sandbox get, gc")
    func fileCommands() throws {
        let directory = try TemporaryDirectory()
        mkdir(directory.file("box"), 0o755)
        let daemon = try Daemon(
            config: "[sandbox]\n\"\" = { box = \"\(directory.file("box"))\" }\n",
            directory: directory
        )
        let socket = ["--socket", daemon.socketPath]
        func ctl(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
            try run(arguments + socket, directory: directory)
        }
        #expect(try ctl(["mkdir", "box:a/b"]).status == 0)
        try writeFile(directory.file("box/a/file"), "12345")
        let listing = try ctl(["ls", "box:a"])
        #expect(listing.status == 0)
        #expect(listing.stdout.contains("b") && listing.stdout.contains("file"))
        #expect(try ctl(["du", "box:a"]).stdout.hasPrefix("5\t"))
        #expect(try ctl(["mv", "box:a/file", "box:a/renamed"]).status == 0)
        #expect(fileExists(directory.file("box/a/renamed")))
        let asynchronous = try ctl(["rm", "--async", "box:a"])
        #expect(asynchronous.status == 0)
        let id = asynchronous.stdout.split(separator: "\n").first.map(String.init) ?? ""
        #expect(try ctl(["request", "result", id]).status == 0)
        #expect(!fileExists(directory.file("box/a")))
        #expect(try ctl(["roots"]).stdout == "box:\n")
        #expect(try ctl(["request", "list"]).stdout.contains("rmAsync\tsuccess"))
        let outside = try ctl(["ls", "box:../"])
        #expect(outside.status == 77)
        #expect(try ctl(["sandbox", "get"]).stdout.contains("(everyone else)"))
        #expect(try ctl(["gc", "--force"]).status == 0)
        #expect(try ctl(["request", "status", id]).status == 1)

        let events = try ctl(["events", "--name", "requestSubmitted"])
        #expect(events.status == 0)
        #expect(events.stdout.split(separator: "\n").count == 7, "one line per submitted request: \(events.stdout)")
        #expect(events.stdout.contains("requestSubmitted  method=mvAsync newPath=box:a/renamed path=box:a/file"))
        let last = try ctl(["events", "--json", "--limit", "1", "--superuser"])
        #expect(last.stdout.hasPrefix("{\"_event\":\"gcRun\""), "\(last.stdout)")
        #expect(try daemon.stop() == 0)
    }
}
