import Logging
import OutpostCore
import OutpostRPC
import OutpostService

#if canImport(Glibc)
import Glibc
#endif

/// Managing who may use the remote listener, on either socket: users' passwords (superuser only) and shared tokens
/// (`createSharedToken`, as accsyn's client API names it). A caller may make, list and revoke tokens for themself; a
/// superuser for anyone. A connection signed in with a token may not make tokens: a token that expires tomorrow must
/// not be able to mint one that never does.
enum CredentialMethods {
    static func make(node: NodeContext, credentials: RemoteCredentials) -> [RPCMethod<ControlSession>] {
        [
            RPCMethod("setUserPassword", parameters: ["userName", "password"]) { params, session in
                try FileRequestMethods.requireSuperuser(session, "setUserPassword")
                let userName = try params.string("userName")
                let password = try params.string("password")
                guard UnixUser.account(named: userName) != nil else {
                    throw RPCError.invalidParams(
                        "'\(userName)' is not a user of this machine; remote users are Unix users"
                    )
                }
                guard password.utf8.count >= 8, password.utf8.count <= 1024 else {
                    throw RPCError.invalidParams("a password must be 8 to 1024 bytes long")
                }
                try stored { () throws(StateDirectoryError) in
                    try credentials.setPassword(userName: userName, password: password, now: now())
                }
                node.events.record(
                    "remoteUserSet",
                    ["userName": .string(userName), "by": .string(session.caller.userName)]
                )
                return .null
            },
            RPCMethod("deleteUser", parameters: ["userName"]) { params, session in
                try FileRequestMethods.requireSuperuser(session, "deleteUser")
                let userName = try params.string("userName")
                let existed = try stored { () throws(StateDirectoryError) in
                    try credentials.deleteUser(userName, now: now())
                }
                guard existed else { throw RPCError.notFound("no remote user or token for '\(userName)'") }
                node.events.record(
                    "remoteUserDeleted",
                    ["userName": .string(userName), "by": .string(session.caller.userName)]
                )
                return .null
            },
            RPCMethod("getUsers") { _, session in
                try FileRequestMethods.requireSuperuser(session, "getUsers")
                let users = credentials.users.sorted { $0.key < $1.key }
                return .array(users.map { ["userName": .string($0.key), "created": .integer($0.value.created)] })
            },
            RPCMethod(
                "createSharedToken",
                parameters: ["userName", "expiresSeconds", "password", "description"]
            ) { params, session in
                guard session.caller.tokenSession == nil else {
                    throw RPCError.permissionDenied("a connection signed in with a token cannot make tokens")
                }
                let userName = try params.optionalString("userName") ?? session.caller.userName
                try requireSelfOrSuperuser(session, userName: userName, "createSharedToken")
                guard UnixUser.account(named: userName) != nil else {
                    throw RPCError.invalidParams("'\(userName)' is not a user of this machine")
                }
                let lifetime = try params.optionalInteger("expiresSeconds", in: 1...(10 * 365 * 86400))
                let password = try params.optionalString("password")
                if let password, password.utf8.count < 8 || password.utf8.count > 1024 {
                    throw RPCError.invalidParams("a token's password must be 8 to 1024 bytes long")
                }
                let description = try params.optionalString("description")
                let created = now()
                let expires = lifetime.map { created + $0 }
                let made = try stored { () throws(StateDirectoryError) in
                    try credentials.createToken(
                        userName: userName,
                        expires: expires,
                        password: password,
                        description: description,
                        now: created
                    )
                }
                node.events.record(
                    "sharedTokenCreated",
                    owner: session.caller,
                    ["tokenId": .string(made.id), "for": .string(userName)]
                )
                var result: [String: JSONValue] = [
                    "tokenId": .string(made.id), "token": .string(made.token), "userName": .string(userName),
                    "created": .integer(created), "hasPassword": .bool(password != nil),
                ]
                if let expires { result["expires"] = .integer(expires) }
                return .object(result)
            },
            RPCMethod("revokeSharedToken", parameters: ["tokenId"]) { params, session in
                let id = try params.string("tokenId")
                guard let token = credentials.tokens[id],
                    session.isSuperuser || token.userName == session.caller.userName
                else {
                    throw RPCError.notFound("no token '\(id)'")
                }
                let revoked = try stored { () throws(StateDirectoryError) in
                    try credentials.revokeToken(id: id, now: now())
                }
                guard revoked else {
                    throw RPCError(code: RPCError.invalidStateCode, message: "token '\(id)' was already revoked")
                }
                node.events.record("sharedTokenRevoked", owner: session.caller, ["tokenId": .string(id)])
                return .null
            },
            RPCMethod("getSharedTokens") { _, session in
                let visible = credentials.tokens.filter {
                    session.isSuperuser || $0.value.userName == session.caller.userName
                }
                return .array(
                    visible.sorted { $0.value.created < $1.value.created }.map { id, token in
                        var entry: [String: JSONValue] = [
                            "tokenId": .string(id), "userName": .string(token.userName),
                            "created": .integer(token.created), "hasPassword": .bool(token.password != nil),
                        ]
                        if let expires = token.expires { entry["expires"] = .integer(expires) }
                        if let revoked = token.revoked { entry["revoked"] = .integer(revoked) }
                        if let description = token.description { entry["description"] = .string(description) }
                        return .object(entry)
                    }
                )
            },
        ]
    }

    static func now() -> Int64 { Int64(time(nil)) }

    private static func requireSelfOrSuperuser(
        _ session: ControlSession,
        userName: String,
        _ method: String
    ) throws(RPCError) {
        guard session.isSuperuser || userName == session.caller.userName else {
            throw RPCError.permissionDenied("\(method) for another user needs superuser() first")
        }
    }

    /// Runs a change to the credentials file; a failure to write it is the caller's error, with the reason.
    private static func stored<T>(_ change: () throws(StateDirectoryError) -> T) throws(RPCError) -> T {
        do {
            return try change()
        } catch {
            throw RPCError(code: RPCError.operationFailedCode, message: "cannot save the credentials: \(error)")
        }
    }
}
