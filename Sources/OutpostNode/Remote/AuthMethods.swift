import Logging
import NIOPosix
import OutpostCore
import OutpostCrypto
import OutpostRPC

#if canImport(Glibc)
import Glibc
#endif

/// Signing in on the remote listener: `auth(userName, password)` and `authToken(token, password?, tokenSession?)`,
/// as in the seed API. Until one succeeds, only `getServerInfo`, `echo` and these two answer (`admission`).
///
/// Password checks cost about 50 ms of scrypt each, so they run on NIO's blocking-work pool rather than on the
/// cooperative threads that serve every other call, and failures are limited per address (`LoginThrottle`). Every
/// failure and success goes to the event log with the address and user name, never with a secret.
enum AuthMethods {
    /// What a signed-out connection may call.
    static let openMethods: Set<String> = ["getServerInfo", "echo", "auth", "authToken"]

    static let admission: RPCDispatcher<ControlSession>.Admission = { method, session in
        guard !session.isAuthenticated, !openMethods.contains(method) else { return nil }
        return .authenticationRequired("call auth(userName, password) or authToken(token) before '\(method)'")
    }

    static func make(
        node: NodeContext,
        credentials: RemoteCredentials,
        throttle: LoginThrottle
    ) -> [RPCMethod<ControlSession>] {
        [
            RPCMethod("auth", parameters: ["userName", "password"]) { params, session in
                let userName = try params.string("userName")
                let password = try params.string("password")
                let address = try admit(session, throttle: throttle, node: node, userName: userName)
                let accepted = try await NIOThreadPool.singleton.runIfActive {
                    credentials.authenticate(userName: userName, password: password)
                }
                guard accepted, let account = UnixUser.account(named: userName) else {
                    refuse(
                        session,
                        address: address,
                        userName: userName,
                        reason: "wrong user name or password",
                        node,
                        throttle
                    )
                    throw RPCError.authenticationFailed("wrong user name or password")
                }
                let caller = CallerIdentity(uid: account.uid, gid: account.gid, pid: 0, userName: userName)
                session.signIn(as: caller)
                node.events.record("remoteLogin", owner: caller, ["address": .string(address), "method": "password"])
                return .null
            },
            RPCMethod("authToken", parameters: ["token", "password", "tokenSession"]) { params, session in
                let token = try params.string("token")
                let password = try params.optionalString("password")
                let requestedSession = try params.optionalString("tokenSession")
                if let requestedSession, requestedSession.isEmpty || requestedSession.utf8.count > 128 {
                    throw RPCError.invalidParams("tokenSession must be 1 to 128 characters")
                }
                let address = try admit(session, throttle: throttle, node: node, userName: nil)
                let check = try await NIOThreadPool.singleton.runIfActive {
                    credentials.authenticate(token: token, password: password, now: CredentialMethods.now())
                }
                switch check {
                case .refused(let reason):
                    refuse(session, address: address, userName: nil, reason: reason, node, throttle)
                    throw RPCError.authenticationFailed(reason)
                case .valid(let userName, let tokenID):
                    guard let account = UnixUser.account(named: userName) else {
                        let reason = "the token's user '\(userName)' no longer exists on this machine"
                        refuse(session, address: address, userName: userName, reason: reason, node, throttle)
                        throw RPCError.authenticationFailed(reason)
                    }
                    // A session is scoped to its token: naming another token's session gives a session of its own.
                    let sessionID = tokenID + ":" + (requestedSession ?? Hex.encode(SecretBytes.random(count: 16)))
                    let caller = CallerIdentity(
                        uid: account.uid,
                        gid: account.gid,
                        pid: 0,
                        userName: userName,
                        tokenSession: sessionID
                    )
                    session.signIn(as: caller)
                    node.events.record(
                        "remoteLogin",
                        owner: caller,
                        ["address": .string(address), "method": "token", "tokenId": .string(tokenID)]
                    )
                    return .null
                }
            },
        ]
    }

    /// The connection's address, once the throttle allows another attempt from it.
    private static func admit(
        _ session: ControlSession,
        throttle: LoginThrottle,
        node: NodeContext,
        userName: String?
    ) throws(RPCError) -> String {
        let address = session.remoteAddress ?? "local"
        if let wait = throttle.waitBeforeAttempt(from: address, now: monotonicSeconds()) {
            node.events.record(
                "remoteLoginThrottled",
                ["address": .string(address), "userName": userName.map(JSONValue.string) ?? .null]
            )
            throw RPCError.authenticationFailed(
                "too many failed sign-ins from \(address); try again in \(Int(wait.rounded(.up))) s"
            )
        }
        return address
    }

    private static func refuse(
        _ session: ControlSession,
        address: String,
        userName: String?,
        reason: String,
        _ node: NodeContext,
        _ throttle: LoginThrottle
    ) {
        throttle.recordFailure(from: address, now: monotonicSeconds())
        node.events.record(
            "remoteLoginFailed",
            [
                "address": .string(address), "userName": userName.map(JSONValue.string) ?? .null,
                "reason": .string(reason), "connection": .integer(Int64(session.connectionID)),
            ]
        )
        node.logger.warning(
            "remote sign-in refused",
            metadata: ["address": "\(address)", "user": "\(userName ?? "-")", "reason": "\(reason)"]
        )
    }

    static func monotonicSeconds() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }
}
