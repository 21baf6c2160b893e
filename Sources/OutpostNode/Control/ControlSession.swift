import OutpostCore
import OutpostFiles
import OutpostState
import Synchronization

/// One control connection's context, handed to every method it calls: who the caller is and what the connection has
/// been granted. Superuser is per connection, as in accsyn's client API: a caller asks for it with `superuser()` and keeps it
/// until the connection closes or signs in as someone else.
///
/// On the Unix socket the caller is the kernel's word (`SO_PEERCRED`) from the start. On the remote listener a
/// connection starts signed out (`caller` is nobody, `isAuthenticated` false) and `auth`/`authToken` set who it is;
/// several sign-ins on one connection are allowed, each replacing the last.
public final class ControlSession: Sendable {
    private struct Identity {
        var caller: CallerIdentity
        var authenticated: Bool
        var superuser = false
        var fileCaller: FileCaller?
    }

    /// Identifies the connection in logs.
    public let connectionID: UInt64
    /// The peer's IP address for a remote connection; nil on the Unix socket.
    public let remoteAddress: String?
    private let identity: Mutex<Identity>
    /// A state subscription started by the last call, for the server to start pushing; and whether one is active.
    private let subscription = Mutex<(pending: StateSubscription?, active: Bool)>((nil, false))

    /// A local connection: `caller` from `SO_PEERCRED`, authenticated by the kernel.
    public init(caller: CallerIdentity, connectionID: UInt64) {
        self.connectionID = connectionID
        self.remoteAddress = nil
        self.identity = Mutex(Identity(caller: caller, authenticated: true))
    }

    /// A remote connection, signed out until `auth` or `authToken` succeeds.
    public init(remoteAddress: String, connectionID: UInt64) {
        self.connectionID = connectionID
        self.remoteAddress = remoteAddress
        let nobody = CallerIdentity(uid: UInt32.max, gid: UInt32.max, pid: 0, userName: "")
        self.identity = Mutex(Identity(caller: nobody, authenticated: false))
    }

    public var caller: CallerIdentity { identity.withLock { $0.caller } }
    public var isAuthenticated: Bool { identity.withLock { $0.authenticated } }
    public var isSuperuser: Bool { identity.withLock { $0.superuser } }

    /// The caller with their groups, for file-access bits: looked up in the group database on first use and kept for
    /// the connection, so a burst of requests does not read /etc/group each time.
    var fileCaller: FileCaller {
        identity.withLock { identity in
            if let cached = identity.fileCaller { return cached }
            let caller = identity.caller
            let resolved = FileCaller(uid: caller.uid, gid: caller.gid, userName: caller.userName)
            identity.fileCaller = resolved
            return resolved
        }
    }

    /// Makes the connection act as `caller` from now on; a superuser grant does not carry over to the new identity.
    func signIn(as caller: CallerIdentity) {
        identity.withLock { $0 = Identity(caller: caller, authenticated: true) }
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
        identity.withLock { $0.superuser = true }
    }
}
