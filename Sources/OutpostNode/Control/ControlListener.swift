#if canImport(Glibc)
import Glibc
#endif

/// Where the control server listens: a socket systemd passed in, or a path the daemon binds itself.
public enum ControlListener: Sendable, Equatable {
    case inherited(InheritedSocket)
    case path(String, mode: UInt32)
}

/// A control socket that cannot be set up: which path and why, with what to do about it.
public struct ControlListenerError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }

    /// sysexits.h's EX_UNAVAILABLE: a service the daemon needs (its own socket path) cannot be had.
    public static let exitStatus: Int32 = 69
}

extension ControlListener {
    /// Makes `path` ready to bind: creates its directory, and removes a stale socket file left by a daemon that
    /// crashed, but never a socket someone is still serving on and never a file that is not a socket.
    static func prepareSocketPath(_ path: String) throws(ControlListenerError) {
        let directory = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
        if !directory.isEmpty {
            var prefix = ""
            for component in directory.split(separator: "/") {
                prefix += "/" + component
                if mkdir(prefix, 0o755) != 0 && errno != EEXIST {
                    throw ControlListenerError(
                        message: "cannot create \(prefix) for the control socket: \(String(cString: strerror(errno)))"
                    )
                }
            }
        }
        var status = stat()
        guard lstat(path, &status) == 0 else { return }
        guard (status.st_mode & S_IFMT) == S_IFSOCK else {
            throw ControlListenerError(
                message: "\(path) exists and is not a socket; move it away or set [control] socket"
            )
        }
        if isServing(path) {
            throw ControlListenerError(
                message:
                    "another process is already serving \(path): is outpostd already running? (stop it, or use --control-socket)"
            )
        }
        unlink(path)
    }

    private static func isServing(_ path: String) -> Bool {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let result = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        return result == 0
    }
}
