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

    /// Connects, calls one method, and returns its result; any failure is reported and turned into an exit code.
    func call(_ method: String, _ params: JSONValue? = nil) throws -> JSONValue {
        do {
            let client = try ControlClient(socketPath: socketPath, timeoutSeconds: timeout)
            return try client.call(method, params)
        } catch {
            throw CommandFailure(error)
        }
    }

    /// Prints `value` as JSON (with `--json`) or as `human` text.
    func output(_ value: JSONValue, human: () -> String) {
        print(json ? JSONCoding.serializeToString(value) : human())
    }
}
