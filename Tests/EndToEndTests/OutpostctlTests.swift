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
}
