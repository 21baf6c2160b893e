import OutpostCore
import OutpostFiles
import Synchronization

/// One control connection's context, handed to every method it calls: who the caller is (from `SO_PEERCRED`) and
/// what the connection has been granted. Superuser is per connection, as in the seed API: a caller asks for it with
/// `superuser()` and keeps it until the connection closes.
public final class ControlSession: Sendable {
    public let caller: CallerIdentity
    /// Identifies the connection in logs.
    public let connectionID: UInt64
    private let superuser = Mutex(false)
    private let groups = Mutex<FileCaller?>(nil)

    public init(caller: CallerIdentity, connectionID: UInt64) {
        self.caller = caller
        self.connectionID = connectionID
    }

    public var isSuperuser: Bool { superuser.withLock { $0 } }

    /// The caller with their groups, for file-access bits: looked up in the group database on first use and kept for
    /// the connection, so a burst of requests does not read /etc/group each time.
    var fileCaller: FileCaller {
        groups.withLock { cached in
            if let cached { return cached }
            let resolved = FileCaller(uid: caller.uid, gid: caller.gid, userName: caller.userName)
            cached = resolved
            return resolved
        }
    }

    func grantSuperuser() {
        superuser.withLock { $0 = true }
    }
}
