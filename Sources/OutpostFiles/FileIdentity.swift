import CLinuxShims

#if canImport(Glibc)
import Glibc
#endif

/// The user a file operation acts as. The worker thread takes on the user's file-system identity (fsuid, fsgid and
/// supplementary groups) for the operation and gives it back after: the kernel then decides every permission exactly
/// as it would for that user, and what the operation creates belongs to them. Only the calling thread changes; the
/// daemon needs CAP_SETUID and CAP_SETGID for it (root has them).
public struct FileIdentity: Sendable, Equatable {
    public var uid: UInt32
    public var gid: UInt32
    public var groups: [UInt32]

    public init(uid: UInt32, gid: UInt32, groups: [UInt32]) {
        self.uid = uid
        self.gid = gid
        self.groups = groups
    }

    /// The daemon's own identity, read once: what every thread goes back to.
    static let daemon: FileIdentity = {
        var groups = [gid_t](repeating: 0, count: Int(getgroups(0, nil)))
        let count = getgroups(Int32(groups.count), &groups)
        return FileIdentity(uid: geteuid(), gid: getegid(), groups: Array(groups.prefix(Int(max(count, 0)))))
    }()

    /// Runs `body` as this user on the calling thread. A daemon that cannot switch (no CAP_SETUID, CAP_SETGID) acts
    /// for its own user only: for anyone else the operation is refused, never run with the daemon's rights.
    public func perform<Result>(
        _ body: () throws(FileOperationError) -> Result
    ) throws(FileOperationError) -> Result {
        let daemon = Self.daemon
        if uid == daemon.uid && gid == daemon.gid { return try body() }
        let switched = groups.withUnsafeBufferPointer {
            outpost_set_file_identity(uid, gid, $0.baseAddress, Int32($0.count))
        }
        guard switched == 0 else {
            let error = errno
            // -1: the groups were refused and nothing changed. Restoring then would need the very capability that
            // is missing (a user server has none), and a thread that cannot restore stops the process.
            if switched != -1 { Self.restore() }
            throw FileOperationError(
                .permissionDenied,
                path: "",
                message: "outpostd cannot act as user \(uid) (\(String(cString: strerror(error)))): "
                    + "the service needs CAP_SETUID and CAP_SETGID",
                errno: error
            )
        }
        defer { Self.restore() }
        return try body()
    }

    /// Runs `body` as `identity`, or as the daemon itself when it is nil.
    static func perform<Result>(
        as identity: FileIdentity?,
        _ body: () throws(FileOperationError) -> Result
    ) throws(FileOperationError) -> Result {
        guard let identity else { return try body() }
        return try identity.perform(body)
    }

    /// Back to the daemon's identity. A thread that cannot go back would do the next user's work as this one: the
    /// process stops instead (systemd restarts it).
    private static func restore() {
        let daemon = Self.daemon
        let restored = daemon.groups.withUnsafeBufferPointer {
            outpost_set_file_identity(daemon.uid, daemon.gid, $0.baseAddress, Int32($0.count))
        }
        if restored != 0 { fatalError("cannot restore the daemon's file-system identity: \(errno)") }
    }
}
