import OutpostCore
import OutpostFiles
import OutpostState
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
    /// A state subscription started by the last call, for the server to start pushing; and whether one is active.
    private let subscription = Mutex<(pending: StateSubscription?, active: Bool)>((nil, false))

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

    /// Hands a new state subscription to the connection; false when it already has one.
    func offerSubscription(_ new: StateSubscription) -> Bool {
        subscription.withLock { slot in
            guard !slot.active else { return false }
            slot = (new, true)
            return true
        }
    }

    /// The subscription to start pushing, once.
    func takeSubscription() -> StateSubscription? {
        subscription.withLock { slot in
            defer { slot.pending = nil }
            return slot.pending
        }
    }

    func grantSuperuser() {
        superuser.withLock { $0 = true }
    }
}
