#if canImport(Glibc)
import Glibc
#endif

/// Who is on the other end of a control connection, as the kernel vouches for it (`SO_PEERCRED`), not as the peer
/// claims. Every control-API call carries one, and every permission check is made against it.
public struct CallerIdentity: Sendable, Hashable, CustomStringConvertible {
    public var uid: UInt32
    public var gid: UInt32
    public var pid: Int32
    /// The user name for `uid` from the password database, or the uid in decimal when it has no entry.
    public var userName: String
    /// For a remote caller signed in with a shared token: the token session. Connections in one session share their
    /// requests; a token's requests are not visible to the same user's other sessions (least privilege for tokens
    /// handed to apps).
    public var tokenSession: String?

    public init(uid: UInt32, gid: UInt32, pid: Int32, userName: String, tokenSession: String? = nil) {
        self.uid = uid
        self.gid = gid
        self.pid = pid
        self.userName = userName
        self.tokenSession = tokenSession
    }

    /// Looks up the user name for `uid`.
    public init(uid: UInt32, gid: UInt32, pid: Int32) {
        self.init(uid: uid, gid: gid, pid: pid, userName: UnixUser.name(of: uid) ?? String(uid))
    }

    public var description: String { "\(userName) (uid \(uid), pid \(pid))" }

    /// True when requests made by `owner` belong to this caller too: the same user, in the same token session (or
    /// neither in one).
    public func sharesRequests(with owner: CallerIdentity) -> Bool {
        uid == owner.uid && tokenSession == owner.tokenSession
    }
}

/// Password-database lookups through the reentrant libc calls, safe from any thread.
public enum UnixUser {
    public static func name(of uid: UInt32) -> String? {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 4096)
        guard getpwuid_r(uid, &entry, &buffer, buffer.count, &result) == 0, result != nil, let name = entry.pw_name
        else {
            return nil
        }
        return String(cString: name)
    }

    /// The uid of `name`, or nil if there is no such user.
    public static func uid(of name: String) -> UInt32? {
        account(named: name)?.uid
    }

    /// The uid and primary gid of `name`, or nil if there is no such user.
    public static func account(named name: String) -> (uid: UInt32, gid: UInt32)? {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 4096)
        guard getpwnam_r(name, &entry, &buffer, buffer.count, &result) == 0, result != nil else { return nil }
        return (entry.pw_uid, entry.pw_gid)
    }

    /// The effective user this process runs as.
    public static var current: CallerIdentity {
        CallerIdentity(uid: geteuid(), gid: getegid(), pid: getpid())
    }
}
