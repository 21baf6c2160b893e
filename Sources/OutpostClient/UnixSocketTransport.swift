#if canImport(Glibc)
import Glibc
#endif

/// outpostd's local control socket: one JSON object per line, in both directions.
///
/// Blocking on purpose: `outpostctl` makes one call and exits, and a blocking socket starts in microseconds with no
/// event loop.
final class UnixSocketTransport: ControlTransport {
    let socketPath: String
    private let fd: Int32
    private var buffer: [UInt8] = []
    /// Where each read lands before it joins `buffer`: made once, not zeroed again for every read (64 KiB of memset per
    /// answer was a tenth of a small call's cost).
    private var chunk = [UInt8](repeating: 0, count: 65536)
    /// Lines longer than this from the daemon are a protocol violation (an ls of a huge directory stays well under).
    private let maximumLineLength = 256 << 20

    var endpoint: String { socketPath }

    /// Connects to the control socket.
    /// - Parameter timeoutSeconds: how long any single read or write may block; nil blocks forever.
    init(socketPath: String, timeoutSeconds: Double?) throws(ControlClientError) {
        self.socketPath = socketPath
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(socketPath.utf8)
        guard pathBytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw ControlClientError(
                code: .io,
                message: "socket path is too long (\(pathBytes.count) bytes): \(socketPath)"
            )
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: pathBytes)
            raw[pathBytes.count] = 0
        }
        let socketFD = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard socketFD >= 0 else {
            throw ControlClientError(
                code: .io,
                message: "cannot create a socket: \(String(cString: strerror(errno)))",
                errno: errno
            )
        }
        let result = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(socketFD, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        if result != 0 {
            let error = errno
            close(socketFD)
            throw Self.connectError(error, path: socketPath)
        }
        fd = socketFD
        if let timeoutSeconds { setTimeout(timeoutSeconds) }
    }

    deinit {
        close(fd)
    }

    private static func connectError(_ error: Int32, path: String) -> ControlClientError {
        switch error {
        case ENOENT:
            return ControlClientError(
                code: .daemonNotRunning,
                message:
                    "no control socket at \(path): is outpostd running? (systemctl status outpostd, or pass --socket)",
                errno: error
            )
        case ECONNREFUSED:
            return ControlClientError(
                code: .daemonNotRunning,
                message: "nothing is listening on \(path): outpostd is not running or is restarting",
                errno: error
            )
        case EACCES, EPERM:
            return ControlClientError(
                code: .permissionDenied,
                message: "permission denied on \(path): ask an admin to add you to the socket's group, or use sudo",
                errno: error
            )
        default:
            return ControlClientError(
                code: .io,
                message: "cannot connect to \(path): \(String(cString: strerror(error)))",
                errno: error
            )
        }
    }

    private func setTimeout(_ seconds: Double) {
        var value = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - seconds.rounded(.down)) * 1_000_000))
        for option in [SO_RCVTIMEO, SO_SNDTIMEO] {
            setsockopt(fd, SOL_SOCKET, option, &value, socklen_t(MemoryLayout<timeval>.size))
        }
    }

    func send(message: [UInt8]) throws(ControlClientError) {
        try sendRaw(message + [UInt8(ascii: "\n")])
    }

    func sendRaw(_ bytes: [UInt8]) throws(ControlClientError) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes {
                Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            if written < 0 {
                if errno == EINTR { continue }
                throw ioError("cannot send to \(socketPath)", errno)
            }
            offset += written
        }
    }

    /// Reads one line, without its newline.
    func receiveMessage() throws(ControlClientError) -> [UInt8] {
        var searchFrom = 0
        while true {
            if let newline = buffer[searchFrom...].firstIndex(of: UInt8(ascii: "\n")) {
                let line = Array(buffer[..<newline])
                buffer.removeSubrange(...newline)
                return line
            }
            searchFrom = buffer.count
            guard buffer.count <= maximumLineLength else {
                throw ControlClientError(
                    code: .protocolViolation,
                    message: "outpostd sent a line over \(maximumLineLength) bytes"
                )
            }
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN || errno == EWOULDBLOCK {
                    throw ControlClientError(
                        code: .timedOut,
                        message: "outpostd did not answer in time on \(socketPath)"
                    )
                }
                throw ioError("cannot read from \(socketPath)", errno)
            }
            if count == 0 {
                throw ControlClientError(
                    code: .connectionClosed,
                    message: "outpostd closed the connection on \(socketPath) before answering"
                )
            }
            buffer.append(contentsOf: chunk[..<count])
        }
    }

    private func ioError(_ what: String, _ error: Int32) -> ControlClientError {
        if error == EPIPE || error == ECONNRESET {
            return ControlClientError(
                code: .connectionClosed,
                message: "\(what): outpostd closed the connection",
                errno: error
            )
        }
        return ControlClientError(code: .io, message: "\(what): \(String(cString: strerror(error)))", errno: error)
    }
}
