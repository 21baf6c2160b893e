import OutpostClient
import OutpostRPC
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `outpostd --user`, a login user's own server, run as that user (the test peer) with the environment their systemd
/// user manager gives: everything in their XDG directories, their home as `home:`, a socket only they reach, and a
/// coordinator that lists it as a user server (type 2). The system container runs the same from the installed user
/// unit for a lingering user.
@Suite("user server (real binaries)", .serialized)
struct UserServerTests {
    /// The peer's home and runtime directory (0700, theirs), with the environment their user manager would give.
    struct PeerSession {
        let directory: TemporaryDirectory
        let peer: Attacker
        let home: String
        let runtime: String
        var socket: String { runtime + "/outpost/control.sock" }
        var configFile: String { home + "/.config/outpost/outpostd.toml" }

        init() throws {
            directory = try TemporaryDirectory()
            peer = try Attacker(directory: directory)
            chmod(directory.path, 0o755)
            home = directory.file("home")
            runtime = directory.file("run")
            for path in [home, runtime, home + "/.config", home + "/.config/outpost"] {
                mkdir(path, 0o700)
                peer.give(path)
            }
        }

        /// Writes a file of the peer's, 0600.
        func write(_ path: String, _ text: String) throws {
            try writeFile(path, text, mode: 0o600)
            peer.give(path)
        }

        /// Runs a program as the peer in their session.
        func run(_ executable: String, _ arguments: [String]) throws -> ChildProcess {
            try ChildProcess(
                "/usr/bin/setpriv",
                ["--reuid=\(peer.uid)", "--regid=\(peer.gid)", "--clear-groups", "--", executable] + arguments,
                environment: ["PATH": "/usr/bin:/bin", "HOME": home, "XDG_RUNTIME_DIR": runtime],
                directory: directory
            )
        }

        /// `outpostd --user` as the peer, once its socket answers.
        func startServer() throws -> ChildProcess {
            let daemon = try run(try BuiltProducts.path("outpostd"), ["--user"])
            let socket = socket
            #expect(
                try eventually { access(socket, F_OK) == 0 && (try? ControlClient(socketPath: socket)) != nil },
                "the user server never answered: \(daemon.standardError)"
            )
            return daemon
        }
    }

    @Test("outpostd --user as a plain user: XDG paths, a 0600 socket, the home as sandbox, type 2 at the coordinator")
    func userServer() throws {
        let session = try PeerSession()
        let (peer, home) = (session.peer, session.home)
        try session.write(home + "/notes.txt", "mine\n")
        let coordinator = try Coordinator()
        let (token, _) = try coordinator.token()
        let tokenFile = home + "/.config/outpost/enrollment-token"
        try session.write(tokenFile, token + "\n")
        try session.write(
            session.configFile,
            """
            [coordinator]
            url = "\(coordinator.url)"
            checkin_interval = 1
            enrollment_token_file = "\(tokenFile)"
            """
        )
        let daemon = try session.startServer()
        let socket = session.socket
        var status = stat()
        #expect(lstat(socket, &status) == 0 && status.st_mode & 0o777 == 0o600 && status.st_uid == peer.uid)
        #expect(access(home + "/.local/state/outpost/node-id", F_OK) == 0)
        var stateStatus = stat()
        #expect(stat(home + "/.local/state/outpost", &stateStatus) == 0 && stateStatus.st_uid == peer.uid)

        // outpostctl --user-server finds the socket from XDG_RUNTIME_DIR; the home is `home:`, and what is made there is
        // the user's.
        func outpostctl(_ arguments: [String]) throws -> (Int32, String, String) {
            let child = try session.run(try BuiltProducts.path("outpostctl"), arguments + ["--user-server"])
            let exit = try child.waitForExit(timeout: .seconds(30))
            return (exit, child.standardOutput, child.standardError)
        }
        let listing = try outpostctl(["ls", "home:"])
        #expect(listing.0 == 0 && listing.1.contains("notes.txt"), "\(listing)")
        let made = try outpostctl(["mkdir", "home:made-here"])
        #expect(made.0 == 0, "\(made)")
        var madeStatus = stat()
        #expect(stat(home + "/made-here", &madeStatus) == 0 && madeStatus.st_uid == peer.uid)
        let outside = try outpostctl(["ls", "home:../run"])
        #expect(outside.0 != 0)

        // Enrolled as a user server: type 2, under the peer's name.
        var listed: JSONValue = .null
        #expect(
            try eventually(timeout: .seconds(20)) {
                listed = try coordinator.find("Client where type=2").first ?? .null
                return listed != .null
            },
            "the user server never enrolled: \(daemon.standardError)"
        )
        #expect(listed["username"] == .string(peer.name))

        daemon.signal(SIGTERM)
        #expect(try daemon.waitForExit(timeout: .seconds(10)) == 0)
    }

    @Test("a user server cannot take on another user's identity: their request is refused, never run as its owner")
    func anotherUsersRequestIsRefused() throws {
        let session = try PeerSession()
        // A mapping for everyone: the owner's home for any caller. Only root can reach the 0600 socket besides the
        // owner; connected without asking for superuser, it is a caller like any other.
        try session.write(session.configFile, "[sandbox]\n\"\" = { home = \"\(session.home)\" }\n")
        let daemon = try session.startServer()
        let connection = try ControlClient(socketPath: session.socket, timeoutSeconds: 30)
        let submitted = try connection.call("lsAsync", ["path": "home:"])
        let refused = #expect(throws: ControlClientError.self) {
            try connection.call("getRequestResult", ["requestId": submitted["requestId"]!, "timeoutSeconds": 30])
        }
        #expect("\(refused.map { "\($0)" } ?? "")".contains("cannot act as user 0"), "\(String(describing: refused))")
        daemon.signal(SIGTERM)
        #expect(try daemon.waitForExit(timeout: .seconds(10)) == 0)
    }

    @Test("outpostd --user refuses to start without XDG_RUNTIME_DIR, and as root, saying why")
    func refusals() throws {
        let directory = try TemporaryDirectory()
        let asRoot = try ChildProcess(
            try BuiltProducts.path("outpostd"),
            ["--user"],
            environment: ["PATH": "/usr/bin:/bin", "HOME": directory.path, "XDG_RUNTIME_DIR": directory.path],
            directory: directory
        )
        #expect(try asRoot.waitForExit(timeout: .seconds(10)) == 78)
        #expect(asRoot.standardError.contains("root runs the system service"))

        let peer = try Attacker(directory: directory)
        chmod(directory.path, 0o755)
        let noRuntime = try ChildProcess(
            "/usr/bin/setpriv",
            [
                "--reuid=\(peer.uid)", "--regid=\(peer.gid)", "--clear-groups", "--",
                try BuiltProducts.path("outpostd"),
                "--user",
            ],
            environment: ["PATH": "/usr/bin:/bin", "HOME": directory.path],
            directory: directory
        )
        #expect(try noRuntime.waitForExit(timeout: .seconds(10)) == 78)
        #expect(noRuntime.standardError.contains("XDG_RUNTIME_DIR is not set"))
    }
}
