import ArgumentParser
import OutpostClient
import OutpostRPC

/// A failed call, reported on stderr with what to do, and mapped to sysexits.h codes a script can branch on:
///
/// | exit | meaning |
/// |---|---|
/// | 0 | success |
/// | 1 | outpostd answered with an error (the message says which) |
/// | 64 | usage error (bad arguments) |
/// | 69 | outpostd is not running (no socket, or nothing listening) |
/// | 74 | another I/O error on the socket |
/// | 75 | temporary: timed out, or a limit was reached; try again |
/// | 76 | protocol error: the connection closed early or the answer was not JSON-RPC |
/// | 77 | permission denied: on the socket, or for the method |
struct CommandFailure: Error, CustomStringConvertible {
    let message: String
    let exitCode: Int32

    init(_ error: any Error) {
        guard let clientError = error as? ControlClientError else {
            message = "\(error)"
            exitCode = 1
            return
        }
        message = clientError.message
        switch clientError.code {
        case .daemonNotRunning: exitCode = 69
        case .usage: exitCode = 64
        case .permissionDenied: exitCode = 77
        case .timedOut: exitCode = 75
        case .connectionClosed, .protocolViolation: exitCode = 76
        case .remote:
            switch clientError.rpcError?.code {
            case RPCError.permissionDeniedCode: exitCode = 77
            case RPCError.limitExceededCode: exitCode = 75
            default: exitCode = 1
            }
        default: exitCode = 74
        }
    }

    var description: String { message }
}
