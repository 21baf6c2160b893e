import OutpostClient
import OutpostRPC
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A plain user tries to take every connection of the control socket, as it was found: 256 idle connections locked
/// root out. Now a user holds at most `max_connections_per_user`, root always gets in, and idle connections close.
@Suite("security: the control socket's connection slots (real binaries)", .serialized)
struct AttackerControlSocketTests {
    /// Run by the attacker: opens `count` connections, reports how many were refused at once, holds the rest for
    /// `hold` seconds without a word (one of them watching the state stream), then reports how many the daemon closed.
    /// Its lines: `refused N`, then `closed N streaming open|closed`.
    static let holder = #"""
        import socket, sys, time
        path, count, hold = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])  # argv[4]: what a refusal says
        connections = []
        for _ in range(count):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(path)
            connections.append(s)
        streaming = connections[0]
        streaming.sendall(b'{"jsonrpc":"2.0","id":1,"method":"subscribeState"}\n')
        time.sleep(1.0)
        refused = 0
        admitted = []
        for s in connections[1:]:
            s.setblocking(False)
            try:
                if sys.argv[4].encode() in s.recv(65536):
                    refused += 1
                    continue
            except BlockingIOError:
                pass
            admitted.append(s)
        print("refused", refused, flush=True)
        time.sleep(hold)
        closed = 0
        for s in admitted:
            try:
                s.setblocking(False)
                data = s.recv(65536)
                while data:
                    data = s.recv(65536)
                closed += 1
            except BlockingIOError:
                pass
            except ConnectionResetError:
                closed += 1
        streaming.setblocking(False)
        try:
            alive = streaming.recv(65536) != b""
        except BlockingIOError:
            alive = True
        print("closed", closed, "streaming", "open" if alive else "closed", flush=True)
        """#

    /// Starts the holder as the attacker; returns it once its connections are made and counted.
    func hold(
        _ count: Int,
        for seconds: Int,
        on daemon: Daemon,
        as attacker: Attacker,
        expecting refusal: String
    ) throws -> ChildProcess {
        let script = attacker.directory.file("holder.py")
        try writeFile(script, Self.holder)
        let holder = try ChildProcess(
            "/usr/bin/setpriv",
            [
                "--reuid=\(attacker.uid)", "--regid=\(attacker.gid)", "--clear-groups", "--",
                "/usr/bin/python3", script, daemon.socketPath, "\(count)", "\(seconds)", refusal,
            ],
            environment: ["PATH": "/usr/bin:/bin"],
            directory: attacker.directory
        )
        let held = try eventually(timeout: .seconds(20)) { holder.standardOutput.contains("refused") }
        guard held else { throw TestFailure("the attacker's connections were not made: \(holder.standardError)") }
        return holder
    }

    @Test("a user who fills max_connections: root still answered, idle connections closed, a state stream kept")
    func everySlotTaken() throws {
        let directory = try TemporaryDirectory()
        chmod(directory.path, 0o755)
        let attacker = try Attacker(directory: directory)
        let daemon = try Daemon(
            config: """
                [control]
                socket_mode = "0666"
                max_connections = 24
                idle_timeout_seconds = 3
                """,
            directory: directory
        )
        let holder = try hold(40, for: 5, on: daemon, as: attacker, expecting: "max_connections = 24")
        // Every slot is the attacker's now; root is admitted all the same, at once.
        let started = ContinuousClock.now
        #expect(try daemon.client().call("echo", ["text": "root gets in"]) == "root gets in")
        #expect(ContinuousClock.now - started < .seconds(2))
        #expect(try holder.waitForExit(timeout: .seconds(30)) == 0, "\(holder.standardError)")
        let lines = holder.standardOutput.split(separator: "\n")
        #expect(lines.first == "refused 16", "\(holder.standardOutput)")
        // The 23 silent connections closed after the idle timeout; the one watching the state stream kept.
        #expect(lines.last == "closed 23 streaming open", "\(holder.standardOutput)")
        // And the slots are free again.
        let again = try hold(5, for: 0, on: daemon, as: attacker, expecting: "too many")
        #expect(try again.waitForExit(timeout: .seconds(30)) == 0)
        #expect(again.standardOutput.hasPrefix("refused 0"), "\(again.standardOutput)")
    }

    @Test("one user holds at most max_connections_per_user; the socket keeps room for the others")
    func perUserCap() throws {
        let directory = try TemporaryDirectory()
        chmod(directory.path, 0o755)
        let attacker = try Attacker(directory: directory)
        let daemon = try Daemon(
            config: "[control]\nsocket_mode = \"0666\"\nmax_connections_per_user = 10\n",
            directory: directory
        )
        let holder = try hold(40, for: 0, on: daemon, as: attacker, expecting: "max_connections_per_user = 10")
        #expect(try daemon.client().call("echo", ["text": "root"]) == "root")
        #expect(try holder.waitForExit(timeout: .seconds(30)) == 0, "\(holder.standardError)")
        #expect(holder.standardOutput.hasPrefix("refused 30"), "\(holder.standardOutput)")
    }
}
