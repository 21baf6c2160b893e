import OutpostCore
import OutpostCrypto
import OutpostRPC
import OutpostService
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Who may use the remote listener: users with a password, and shared tokens. Kept in `remote-credentials.json` in
/// the state directory (mode 0600), written atomically before a change is visible.
///
/// A remote user is a Unix user of this machine: their sandbox mapping and file-access bits apply exactly as on the
/// local socket. Passwords are stored as scrypt hashes; a token's secret as its SHA-256 (a 256-bit random secret
/// needs no slow hash), its optional password as scrypt. A token reads `ID.SECRET`: the id finds the entry (and names
/// the token in lists and logs), the secret proves possession.
public final class RemoteCredentials: Sendable {
    struct User: Sendable, Equatable {
        var password: PasswordHash
        var created: Int64
    }

    struct Token: Sendable, Equatable {
        var userName: String
        var secretDigest: String
        var password: PasswordHash?
        var created: Int64
        var expires: Int64?
        var revoked: Int64?
        var description: String?
    }

    private struct Contents: Sendable, Equatable {
        var users: [String: User] = [:]
        var tokens: [String: Token] = [:]
    }

    static let fileName = "remote-credentials.json"
    private let path: String
    private let contents: Mutex<Contents>

    public init(stateDirectory: String) throws(StateDirectoryError) {
        path = stateDirectory + "/" + Self.fileName
        guard let text = try StateDirectory.readSmallFile(path, limit: 16 << 20) else {
            contents = Mutex(Contents())
            return
        }
        guard let value = try? JSONCoding.parse(Array(text.utf8)), let parsed = Self.contents(from: value) else {
            throw StateDirectoryError(path: path, message: "is not a valid credentials file; fix or remove it")
        }
        if let mode = StateDirectory.permissions(of: path), mode & 0o077 != 0 {
            throw StateDirectoryError(
                path: path,
                message: "is open to others (mode \(String(mode, radix: 8))); chmod 600 it"
            )
        }
        contents = Mutex(parsed)
    }

    // MARK: Checks

    /// True when `userName` has a password here and `password` is it. Slow on purpose (scrypt): call it off the
    /// cooperative pool.
    func authenticate(userName: String, password: String) -> Bool {
        guard let user = contents.withLock({ $0.users[userName] }) else {
            // Spend the same time as a real check, so the answer's timing does not tell which user names exist.
            _ = Self.decoy.verify(password)
            return false
        }
        return user.password.verify(password)
    }

    enum TokenCheck: Equatable {
        case valid(userName: String, tokenID: String)
        case refused(String)
    }

    func authenticate(token: String, password: String?, now: Int64) -> TokenCheck {
        guard let (id, secret) = Self.split(token), let entry = contents.withLock({ $0.tokens[id] }) else {
            return .refused("unknown token")
        }
        let digest = Hex.encode(MessageDigest.hash(.sha256, Array(secret.utf8)))
        guard SecretBytes.equal(Array(digest.utf8), Array(entry.secretDigest.utf8)) else {
            return .refused("unknown token")
        }
        if entry.revoked != nil { return .refused("token \(id) was revoked") }
        if let expires = entry.expires, expires <= now { return .refused("token \(id) expired") }
        if let required = entry.password {
            guard let password, required.verify(password) else {
                return .refused(password == nil ? "token \(id) needs its password" : "wrong password for token \(id)")
            }
        }
        return .valid(userName: entry.userName, tokenID: id)
    }

    private static let decoy = PasswordHash.make(password: "not a real password")

    private static func split(_ token: String) -> (String, String)? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].utf8.count == 16, parts[1].utf8.count == 64 else { return nil }
        return (String(parts[0]), String(parts[1]))
    }

    // MARK: Changes

    func setPassword(userName: String, password: String, now: Int64) throws(StateDirectoryError) {
        let hash = PasswordHash.make(password: password)
        try change { $0.users[userName] = User(password: hash, created: now) }
    }

    /// False when there was no such user. The user's tokens are revoked with them.
    func deleteUser(_ userName: String, now: Int64) throws(StateDirectoryError) -> Bool {
        var existed = false
        try change { contents in
            existed = contents.users.removeValue(forKey: userName) != nil
            for (id, token) in contents.tokens where token.userName == userName && token.revoked == nil {
                contents.tokens[id]?.revoked = now
                existed = true
            }
        }
        return existed
    }

    /// Makes a token for `userName` and returns it: the only time its secret exists in clear.
    func createToken(
        userName: String,
        expires: Int64?,
        password: String?,
        description: String?,
        now: Int64
    ) throws(StateDirectoryError) -> (id: String, token: String) {
        let id = Hex.encode(SecretBytes.random(count: 8))
        let secret = Hex.encode(SecretBytes.random(count: 32))
        let entry = Token(
            userName: userName,
            secretDigest: Hex.encode(MessageDigest.hash(.sha256, Array(secret.utf8))),
            password: password.map { PasswordHash.make(password: $0) },
            created: now,
            expires: expires,
            revoked: nil,
            description: description
        )
        try change { $0.tokens[id] = entry }
        return (id, "\(id).\(secret)")
    }

    /// False when there is no such token or it was already revoked.
    func revokeToken(id: String, now: Int64) throws(StateDirectoryError) -> Bool {
        var revoked = false
        try change { contents in
            guard contents.tokens[id]?.revoked == nil, contents.tokens[id] != nil else { return }
            contents.tokens[id]?.revoked = now
            revoked = true
        }
        return revoked
    }

    var users: [String: User] { contents.withLock { $0.users } }
    var tokens: [String: Token] { contents.withLock { $0.tokens } }

    private func change(_ body: (inout Contents) -> Void) throws(StateDirectoryError) {
        var updated = contents.withLock { $0 }
        body(&updated)
        try StateDirectory.writeAtomically(
            path,
            contents: JSONCoding.serializeToString(Self.json(updated)),
            mode: 0o600
        )
        contents.withLock { $0 = updated }
    }

    // MARK: The file's form

    private static func json(_ contents: Contents) -> JSONValue {
        var users: [String: JSONValue] = [:]
        for (name, user) in contents.users {
            users[name] = ["password": .string(user.password.text), "created": .integer(user.created)]
        }
        var tokens: [String: JSONValue] = [:]
        for (id, token) in contents.tokens {
            var members: [String: JSONValue] = [
                "user": .string(token.userName), "secretSha256": .string(token.secretDigest),
                "created": .integer(token.created),
            ]
            if let password = token.password { members["password"] = .string(password.text) }
            if let expires = token.expires { members["expires"] = .integer(expires) }
            if let revoked = token.revoked { members["revoked"] = .integer(revoked) }
            if let description = token.description { members["description"] = .string(description) }
            tokens[id] = .object(members)
        }
        return ["users": .object(users), "tokens": .object(tokens)]
    }

    private static func contents(from value: JSONValue) -> Contents? {
        guard let members = value.objectValue else { return nil }
        var contents = Contents()
        for (name, entry) in members["users"]?.objectValue ?? [:] {
            guard let fields = entry.objectValue, let text = fields["password"]?.stringValue,
                let password = PasswordHash(text: text)
            else { return nil }
            contents.users[name] = User(password: password, created: fields["created"]?.integerValue ?? 0)
        }
        for (id, entry) in members["tokens"]?.objectValue ?? [:] {
            guard let fields = entry.objectValue, let user = fields["user"]?.stringValue,
                let digest = fields["secretSha256"]?.stringValue
            else { return nil }
            var password: PasswordHash?
            if let text = fields["password"]?.stringValue {
                guard let parsed = PasswordHash(text: text) else { return nil }
                password = parsed
            }
            contents.tokens[id] = Token(
                userName: user,
                secretDigest: digest,
                password: password,
                created: fields["created"]?.integerValue ?? 0,
                expires: fields["expires"]?.integerValue,
                revoked: fields["revoked"]?.integerValue,
                description: fields["description"]?.stringValue
            )
        }
        return contents
    }
}
