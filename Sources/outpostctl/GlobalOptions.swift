import ArgumentParser
import OutpostClient
import OutpostRPC

#if canImport(Glibc)
import Glibc
#endif

/// Options every `outpostctl` command takes.
struct GlobalOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "The control socket (default: $OUTPOST_SOCKET, else /run/outpost/control.sock).",
            valueName: "path"
        )
    )
    var socket: String?

    @Flag(
        name: .long,
        help: "Talk to your own user server (outpostd --user) at $XDG_RUNTIME_DIR/outpost/control.sock."
    )
    var userServer = false

    @Flag(name: .long, help: "Print machine-readable JSON instead of text.")
    var json = false

    @Option(name: .long, help: ArgumentHelp("Seconds to wait for an answer.", valueName: "seconds"))
    var timeout: Double = 30

    func validate() throws {
        if userServer && socket != nil {
            throw ValidationError("--user-server and --socket name two different sockets; give one")
        }
        if userServer && getenv("XDG_RUNTIME_DIR") == nil {
            throw ValidationError(
                "--user-server needs XDG_RUNTIME_DIR (set in a login session) to find your user server"
            )
        }
    }

    var socketPath: String {
        if let socket { return socket }
        if userServer, let runtime = getenv("XDG_RUNTIME_DIR") {
            return String(cString: runtime) + "/outpost/control.sock"
        }
        if let fromEnvironment = getenv("OUTPOST_SOCKET") { return String(cString: fromEnvironment) }
        return "/run/outpost/control.sock"
    }

    @Flag(name: .long, help: "Ask for superuser first (root, outpostd's user, or [control] superusers).")
    var superuser = false

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Run the command on a remote node's listener instead of the local socket (default: $OUTPOST_REMOTE).",
            valueName: "wss://host:port"
        )
    )
    var remote: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "With --remote: the file holding a token from 'outpostctl token create', mode 0600; a second line holds "
                + "the token's password, if it has one (default: $OUTPOST_TOKEN_FILE).",
            valueName: "path"
        )
    )
    var tokenFile: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "With --remote: the certificate authorities (PEM) that sign the node's certificate, when not the "
                + "system's (default: $OUTPOST_CA_FILE).",
            valueName: "path"
        )
    )
    var caFile: String?

    /// Connects, and asks for superuser when `--superuser` (or the command) needs it.
    func connect(superuser needed: Bool = false) throws(ControlClientError) -> ControlClient {
        let client = try open(timeoutSeconds: timeout)
        if superuser || needed { _ = try client.call("superuser") }
        return client
    }

    /// The remote node named by `--remote` or `$OUTPOST_REMOTE`, if any.
    func remoteEndpoint() throws(ControlClientError) -> RemoteEndpoint? {
        guard let url = remote ?? Self.environment("OUTPOST_REMOTE") else { return nil }
        do {
            return try RemoteEndpoint(url, caFile: caFile ?? Self.environment("OUTPOST_CA_FILE"))
        } catch {
            throw ControlClientError(code: .usage, message: error.description)
        }
    }

    /// The remote sign-in from `--token-file` (or `$OUTPOST_TOKEN_FILE`).
    func remoteSignIn() throws(ControlClientError) -> RemoteSignIn {
        guard let path = tokenFile ?? Self.environment("OUTPOST_TOKEN_FILE") else {
            throw ControlClientError(
                code: .usage,
                message: "--remote needs --token-file (a token from 'outpostctl token create', in a file of mode 0600)"
            )
        }
        return try TokenFile.read(path)
    }

    /// The control API: on the local socket, or on the remote node signed in with the token.
    func open(timeoutSeconds: Double?) throws(ControlClientError) -> ControlClient {
        guard let endpoint = try remoteEndpoint() else {
            return try ControlClient(socketPath: socketPath, timeoutSeconds: timeoutSeconds)
        }
        return try ControlClient(
            remote: endpoint,
            signIn: remoteSignIn(),
            tokenSession: "outpostctl",
            timeoutSeconds: timeoutSeconds
        )
    }

    private static func environment(_ name: String) -> String? {
        guard let value = getenv(name), value.pointee != 0 else { return nil }
        return String(cString: value)
    }

    /// Connects, calls one method, and returns its result; any failure is reported and turned into an exit code.
    func call(_ method: String, _ params: JSONValue? = nil, superuser needed: Bool = false) throws -> JSONValue {
        do {
            return try connect(superuser: needed).call(method, params)
        } catch {
            throw CommandFailure(error)
        }
    }

    /// Prints `value` as JSON (with `--json`) or as `human` text.
    func output(_ value: JSONValue, human: () -> String) {
        print(json ? JSONCoding.serializeToString(value) : human())
    }
}
