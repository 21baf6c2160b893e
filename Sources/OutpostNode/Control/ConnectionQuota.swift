import Synchronization

/// Who holds the control socket's connection slots: at most `max_connections` in all and `max_connections_per_user`
/// for any one user. Root and the daemon's own user are counted apart and always admitted: the socket is open to
/// every local user with a sandbox, and one of them holding every slot must not lock the admin out.
final class ConnectionQuota: Sendable {
    private struct Counts {
        var total = 0
        var byUser: [UInt32: Int] = [:]
    }

    private let counts = Mutex(Counts())

    /// Takes a slot for `uid`, or says why there is none.
    func admit(uid: UInt32, privileged: Bool, limits: NodeConfiguration.Control) -> String? {
        guard !privileged else { return nil }
        return counts.withLock { counts in
            if counts.total >= limits.maxConnections {
                return "too many connections (max_connections = \(limits.maxConnections))"
            }
            let held = counts.byUser[uid, default: 0]
            if held >= limits.maxConnectionsPerUser {
                return
                    "too many connections from this user (max_connections_per_user = \(limits.maxConnectionsPerUser))"
            }
            counts.total += 1
            counts.byUser[uid] = held + 1
            return nil
        }
    }

    func release(uid: UInt32, privileged: Bool) {
        guard !privileged else { return }
        counts.withLock { counts in
            counts.total -= 1
            let left = counts.byUser[uid, default: 1] - 1
            counts.byUser[uid] = left > 0 ? left : nil
        }
    }
}
