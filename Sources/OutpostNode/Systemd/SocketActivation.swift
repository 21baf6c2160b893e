import CSystemd

#if canImport(Glibc)
import Glibc
#endif

/// A listening socket passed in by systemd (socket activation) or `systemd-socket-activate`.
public struct InheritedSocket: Sendable, Equatable {
    public var fd: Int32
    /// The name from the socket unit's `FileDescriptorName=`, or "unknown".
    public var name: String
}

/// Socket activation: sockets systemd bound for us and passed as fds 3, 4, … with `LISTEN_FDS` and `LISTEN_FDNAMES`.
public enum SocketActivation {
    /// Takes the inherited sockets and removes the `LISTEN_*` variables from the environment so no child sees them.
    ///
    /// Call it first thing in `main`, before any thread starts: it calls `unsetenv`, which is not thread-safe.
    public static func takeInheritedSockets() -> [InheritedSocket] {
        var names: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
        let count = sd_listen_fds_with_names(1, &names)
        guard count > 0 else { return [] }
        defer {
            if let names {
                for index in 0..<Int(count) { free(names[index]) }
                free(names)
            }
        }
        return (0..<count).map { index in
            let name = names?[Int(index)].map { String(cString: $0) } ?? "unknown"
            return InheritedSocket(fd: SD_LISTEN_FDS_START + index, name: name)
        }
    }

    /// The control socket among the inherited ones: the one named `control`, else the first listening Unix stream
    /// socket (what `systemd-socket-activate -l PATH` passes, unnamed).
    public static func controlSocket(in sockets: [InheritedSocket]) -> InheritedSocket? {
        let listeningUnixStreams = sockets.filter {
            sd_is_socket_unix($0.fd, Int32(SOCK_STREAM.rawValue), 1, nil, 0) > 0
        }
        return listeningUnixStreams.first { $0.name == "control" } ?? listeningUnixStreams.first
    }
}
