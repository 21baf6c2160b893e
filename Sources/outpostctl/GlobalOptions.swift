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

    @Flag(name: .long, help: "Print machine-readable JSON instead of text.")
    var json = false

    @Option(name: .long, help: ArgumentHelp("Seconds to wait for an answer.", valueName: "seconds"))
    var timeout: Double = 30

    var socketPath: String {
        if let socket { return socket }
        if let fromEnvironment = getenv("OUTPOST_SOCKET") { return String(cString: fromEnvironment) }
        return "/run/outpost/control.sock"
    }

    @Flag(name: .long, help: "Ask for superuser first (root, outpostd's user, or [control] superusers).")
    var superuser = false

    /// Connects, and asks for superuser when `--superuser` (or the command) needs it.
    func connect(superuser needed: Bool = false) throws(ControlClientError) -> ControlClient {
        let client = try ControlClient(socketPath: socketPath, timeoutSeconds: timeout)
        if superuser || needed { _ = try client.call("superuser") }
        return client
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
