import Logging
import OutpostCore
import OutpostCrypto
import OutpostRPC

/// Signing in on the remote listener: `auth(userName, password)` and `authToken(token, password?, tokenSession?)`,
/// as in accsyn's client API. Until one succeeds, only `getServerInfo`, `echo` and these two answer (`admission`).
///
/// Password checks cost about 50 ms of scrypt each, so they run on NIO's blocking-work pool rather than on the
/// cooperative threads that serve every other call, and failures are limited per address (`SignInAudit`). Every
/// failure and success goes to the event log with the address and user name, never with a secret.
enum AuthMethods {
    /// What a signed-out connection may call.
    static let openMethods: Set<String> = ["getServerInfo", "echo", "auth", "authToken"]

    static let admission: RPCDispatcher<ControlSession>.Admission = { method, session in
        guard !session.isAuthenticated, !openMethods.contains(method) else { return nil }
        return .authenticationRequired("call auth(userName, password) or authToken(token) before '\(method)'")
    }

    static func make(credentials: RemoteCredentials, audit: SignInAudit) -> [RPCMethod<ControlSession>] {
        let node = audit.node
        return [
            RPCMethod("auth", parameters: ["userName", "password"]) { params, session in
                let userName = try params.string("userName")
                let password = try params.string("password")
                let attempt = try await admit(session, audit, userName: userName)
                let accepted = try await audit.check(attempt) {
                    credentials.authenticate(userName: userName, password: password)
                }
                guard accepted, let account = UnixUser.account(named: userName) else {
                    refuse(
                        session,
                        attempt,
                        userName: userName,
                        reason: "wrong user name or password",
                        audit
                    )
                    throw RPCError.authenticationFailed("wrong user name or password")
                }
                audit.accept(attempt)
                let caller = CallerIdentity(uid: account.uid, gid: account.gid, pid: 0, userName: userName)
                session.signIn(as: caller)
                node.events.record(
                    "remoteLogin",
                    owner: caller,
                    ["address": .string(attempt.address), "method": "password"]
                )
                return .null
            },
            RPCMethod("authToken", parameters: ["token", "password", "tokenSession"]) { params, session in
                let token = try params.string("token")
                let password = try params.optionalString("password")
                let requestedSession = try params.optionalString("tokenSession")
                if let requestedSession, requestedSession.isEmpty || requestedSession.utf8.count > 128 {
                    throw RPCError.invalidParams("tokenSession must be 1 to 128 characters")
                }
                let attempt = try await admit(session, audit, userName: nil)
                let check = try await audit.check(attempt) {
                    credentials.authenticate(token: token, password: password, now: CredentialMethods.now())
                }
                switch check {
                case .refused(let reason):
                    refuse(session, attempt, userName: nil, reason: reason, audit)
                    throw RPCError.authenticationFailed(reason)
                case .valid(let userName, let tokenID):
                    guard let account = UnixUser.account(named: userName) else {
                        let reason = "the token's user '\(userName)' no longer exists on this machine"
                        refuse(session, attempt, userName: userName, reason: reason, audit)
                        throw RPCError.authenticationFailed(reason)
                    }
                    audit.accept(attempt)
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
                        ["address": .string(attempt.address), "method": "token", "tokenId": .string(tokenID)]
                    )
                    return .null
                }
            },
        ]
    }

    /// The attempt the throttle admitted from the connection's address.
    private static func admit(
        _ session: ControlSession,
        _ audit: SignInAudit,
        userName: String?
    ) async throws(RPCError) -> LoginThrottle.Attempt {
        let address = session.remoteAddress ?? "local"
        switch await audit.admit(from: address, userName: userName) {
        case .success(let attempt):
            return attempt
        case .failure(let wait):
            throw RPCError.authenticationFailed(
                "too many failed sign-ins from \(address); try again in \(Int(wait.seconds.rounded(.up))) s"
            )
        }
    }

    private static func refuse(
        _ session: ControlSession,
        _ attempt: LoginThrottle.Attempt,
        userName: String?,
        reason: String,
        _ audit: SignInAudit
    ) {
        audit.refuse(
            attempt,
            userName: userName,
            reason: reason,
            details: ["connection": .integer(Int64(session.connectionID))]
        )
    }
}
