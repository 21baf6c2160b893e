import OutpostCrypto
import OutpostService
import Testing

@testable import OutpostNode

/// The remote listener's parts on their own: password hashes, the credentials file, the sign-in throttle, the
/// origin rule and the `[remote]` configuration.
@Suite("remote access: credentials, throttle, origins, configuration")
struct RemoteAccessUnitTests {
    @Test("scrypt hashes verify their own password only, carry their cost, and reject malformed text")
    func passwordHashes() {
        let cheap = PasswordHash.Cost(n: 1 << 10, r: 8, p: 1)
        let hash = PasswordHash.make(password: "correct horse", cost: cheap)
        #expect(hash.verify("correct horse"))
        #expect(!hash.verify("correct horsE"))
        #expect(!hash.verify(""))
        #expect(hash.text.hasPrefix("scrypt$1024$8$1$"))
        #expect(PasswordHash.make(password: "correct horse", cost: cheap) != hash)  // a fresh salt each time
        #expect(PasswordHash(text: hash.text) == hash)
        #expect(!"\(hash)".contains(hash.text.split(separator: "$").last!))
        for malformed in [
            "", "scrypt$", "md5$1$2$3$aa$bb", "scrypt$1000$8$1$00$" + String(repeating: "0", count: 64),
            "scrypt$1024$8$1$zz$" + String(repeating: "0", count: 64), "scrypt$1024$8$1$00$00",
            "scrypt$1048576000$8$1$00$" + String(repeating: "0", count: 64),
        ] {
            #expect(PasswordHash(text: malformed) == nil, "\(malformed)")
        }
    }

    @Test("users and tokens survive a restart in a 0600 file; expiry, revocation and token passwords are enforced")
    func credentialsFile() throws {
        let directory = makeTemporaryDirectory()
        let credentials = try RemoteCredentials(stateDirectory: directory)
        try credentials.setPassword(userName: "root", password: "first-password", now: 100)
        let plain = try credentials.createToken(
            userName: "root",
            expires: 200,
            password: nil,
            description: nil,
            now: 100
        )
        let guarded = try credentials.createToken(
            userName: "root",
            expires: nil,
            password: "token-pass",
            description: "ci",
            now: 100
        )
        let path = directory + "/" + RemoteCredentials.fileName
        #expect(StateDirectory.permissions(of: path) == 0o600)
        let text = try StateDirectory.readSmallFile(path, limit: 1 << 20) ?? ""
        #expect(!text.contains("first-password") && !text.contains(plain.token.split(separator: ".")[1]))

        let reloaded = try RemoteCredentials(stateDirectory: directory)
        #expect(reloaded.authenticate(userName: "root", password: "first-password"))
        #expect(!reloaded.authenticate(userName: "root", password: "second-password"))
        #expect(!reloaded.authenticate(userName: "nobody", password: "first-password"))
        #expect(
            reloaded.authenticate(token: plain.token, password: nil, now: 150)
                == .valid(userName: "root", tokenID: plain.id)
        )
        #expect(
            reloaded.authenticate(token: plain.token, password: nil, now: 200) == .refused("token \(plain.id) expired")
        )
        #expect(reloaded.authenticate(token: "garbage", password: nil, now: 150) == .refused("unknown token"))
        #expect(
            reloaded.authenticate(token: plain.id + "." + String(repeating: "0", count: 64), password: nil, now: 150)
                == .refused("unknown token")
        )
        #expect(
            reloaded.authenticate(token: guarded.token, password: nil, now: 150)
                == .refused("token \(guarded.id) needs its password")
        )
        #expect(
            reloaded.authenticate(token: guarded.token, password: "wrong", now: 150)
                == .refused("wrong password for token \(guarded.id)")
        )
        #expect(
            reloaded.authenticate(token: guarded.token, password: "token-pass", now: 150)
                == .valid(userName: "root", tokenID: guarded.id)
        )

        #expect(try reloaded.revokeToken(id: guarded.id, now: 160))
        #expect(try !reloaded.revokeToken(id: guarded.id, now: 161))
        #expect(
            reloaded.authenticate(token: guarded.token, password: "token-pass", now: 170)
                == .refused("token \(guarded.id) was revoked")
        )
        // Deleting a user revokes their tokens too.
        let other = try reloaded.createToken(userName: "root", expires: nil, password: nil, description: nil, now: 100)
        #expect(try reloaded.deleteUser("root", now: 180))
        #expect(
            reloaded.authenticate(token: other.token, password: nil, now: 190)
                == .refused("token \(other.id) was revoked")
        )
    }

    @Test("a credentials file open to others or malformed stops the daemon from using it")
    func unsafeCredentialsFiles() throws {
        let directory = makeTemporaryDirectory()
        let path = directory + "/" + RemoteCredentials.fileName
        try StateDirectory.writeAtomically(path, contents: "{\"users\": {}, \"tokens\": {}}", mode: 0o644)
        #expect(throws: StateDirectoryError.self) { try RemoteCredentials(stateDirectory: directory) }
        try StateDirectory.writeAtomically(path, contents: "{\"users\": {\"a\": {\"password\": \"x\"}}}", mode: 0o600)
        #expect(throws: StateDirectoryError.self) { try RemoteCredentials(stateDirectory: directory) }
    }

    @Test("failed sign-ins are limited per address over a sliding minute")
    func throttle() {
        let throttle = LoginThrottle(limit: 3, window: 60)
        for second in 0..<3 {
            guard case .admitted(let attempt) = throttle.decide(from: "192.0.2.1", now: Double(second)) else {
                Issue.record("attempt \(second) was not admitted")
                return
            }
            throttle.finish(attempt, succeeded: false, now: Double(second))
        }
        #expect(throttle.decide(from: "192.0.2.1", now: 10).waitSeconds == 50)
        #expect(throttle.decide(from: "192.0.2.2", now: 10).admitted)
        #expect(throttle.decide(from: "192.0.2.1", now: 60.5).admitted)
        let small = LoginThrottle(limit: 1, window: 60, maximumAddresses: 2)
        for address in ["a", "b", "c"] {
            if case .admitted(let attempt) = small.decide(from: address, now: 1) {
                small.finish(attempt, succeeded: false, now: 1)
            }
        }
        #expect(small.decide(from: "c", now: 2).waitSeconds != nil)
    }

    @Test("checks in progress take slots: 200 guesses at once get 10 checks; right ones all get in, 10 at a time")
    func throttleCountsChecksInProgress() async throws {
        let throttle = LoginThrottle(limit: 10, window: 60)
        let clock: @Sendable () -> Double = { 1 }
        // 200 attempts arriving together: 10 admitted, the rest wait for them; all 10 fail, and every waiter is
        // refused without a check.
        let outcomes = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<200 {
                group.addTask {
                    guard case .success(let attempt) = await throttle.admit(from: "192.0.2.9", now: clock) else {
                        return false
                    }
                    try? await Task.sleep(for: .milliseconds(20))  // the password check
                    throttle.finish(attempt, succeeded: false, now: 1)
                    return true
                }
            }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(outcomes.filter { $0 }.count == 10)
        #expect(outcomes.filter { !$0 }.count == 190)

        // 100 right sign-ins at once from another address: all get in.
        let admitted = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<100 {
                group.addTask {
                    guard case .success(let attempt) = await throttle.admit(from: "192.0.2.10", now: clock) else {
                        return false
                    }
                    try? await Task.sleep(for: .milliseconds(2))
                    throttle.finish(attempt, succeeded: true, now: 1)
                    return true
                }
            }
            return await group.reduce(into: 0) { $0 += $1 ? 1 : 0 }
        }
        #expect(admitted == 100)
    }

    @Test("only browsers' origins are checked: listed ones and the listener's own pass")
    func origins() {
        let allowed: Set<String> = ["https://app.example"]
        #expect(RemoteServer.isAllowed(origin: "https://app.example", host: "node:8471", allowed: allowed))
        #expect(RemoteServer.isAllowed(origin: "https://node:8471", host: "node:8471", allowed: allowed))
        #expect(!RemoteServer.isAllowed(origin: "https://evil.example", host: "node:8471", allowed: allowed))
        #expect(!RemoteServer.isAllowed(origin: "http://node:8471", host: "node:8471", allowed: allowed))
        #expect(!RemoteServer.isAllowed(origin: "null", host: "node:8471", allowed: allowed))
        #expect(RemoteServer.isAllowed(origin: "wss://127.0.0.1", host: "node:8471", allowed: allowed))
    }

    @Test("[remote] is read, and an address without TLS is refused")
    func configuration() throws {
        let parsed = try NodeConfigurationLoader.parse(
            text: """
                [remote]
                listen = ["0.0.0.0:8471", "[::]:8471"]
                certificate = "/etc/outpost/tls/node.pem"
                private_key = "/etc/outpost/tls/node.key"
                allowed_origins = ["https://app.example"]
                max_connections = 64
                login_failures_per_minute = 5
                request_timeout = 20
                """,
            file: "test.toml"
        ).remote
        #expect(parsed.listen.map { "\($0.host) \($0.port)" } == ["0.0.0.0 8471", ":: 8471"])
        #expect(parsed.certificate == "/etc/outpost/tls/node.pem" && parsed.privateKey == "/etc/outpost/tls/node.key")
        #expect(parsed.allowedOrigins == ["https://app.example"] && parsed.maxConnections == 64)
        #expect(parsed.loginFailuresPerMinute == 5 && parsed.requestTimeoutSeconds == 20)
        #expect(!NodeConfiguration().remote.isEnabled)

        #expect(throws: ConfigurationError.self) {
            try NodeConfigurationLoader.parse(text: "[remote]\nlisten = [\"127.0.0.1:8471\"]\n", file: "t.toml")
        }
        #expect(throws: ConfigurationError.self) {
            try NodeConfigurationLoader.parse(text: "[remote]\nlisten = [\"8471\"]\n", file: "t.toml")
        }
        #expect(throws: ConfigurationError.self) {
            try NodeConfigurationLoader.parse(text: "[remote]\nport = 1\n", file: "t.toml")
        }
    }
}

/// The HTTP pieces of `/v1/files/`: ranges, content ranges, digests, percent-decoding and Base64.
@Suite("remote file transfers: header parsing")
struct FileTransferHeaderTests {
    @Test("Range: one range, open-ended or a suffix, clamped to the file; outside it unsatisfiable; else ignored")
    func ranges() {
        typealias Range = FileTransferRoutes.RequestedRange
        func parse(_ text: String, _ size: Int64 = 1000) -> Range { FileTransferRoutes.byteRange(text, size: size) }
        #expect(parse("bytes=0-99") == .partial(0..<100))
        #expect(parse("Bytes=0-99") == .partial(0..<100))
        #expect(parse("bytes=900-") == .partial(900..<1000))
        #expect(parse("bytes=900-5000") == .partial(900..<1000))
        #expect(parse("bytes=-100") == .partial(900..<1000))
        #expect(parse("bytes=-1") == .partial(999..<1000))
        #expect(parse("bytes=-5000") == .partial(0..<1000))
        // The numbers an attacker sends: the largest Int64 and past it, on either side.
        #expect(parse("bytes=0-9223372036854775807") == .partial(0..<1000))
        #expect(parse("bytes=0-99999999999999999999999") == .whole)
        #expect(parse("bytes=9223372036854775807-") == .unsatisfiable)
        #expect(parse("bytes=-9223372036854775807") == .partial(0..<1000))
        #expect(parse("bytes=999-9223372036854775807", 1000) == .partial(999..<1000))
        for unsatisfiable in ["bytes=1000-", "bytes=1200-1300", "bytes=-0", "bytes=12-"] {
            #expect(
                parse(unsatisfiable, unsatisfiable == "bytes=12-" ? 12 : 1000) == .unsatisfiable,
                "\(unsatisfiable)"
            )
        }
        for ignored in [
            "bytes=5-4", "bytes=0-1,5-6", "items=0-1", "bytes=x-1", "bytes=-1-2", "bytes=+1-2", "bytes= 1-2",
        ] {
            #expect(parse(ignored) == .whole, "\(ignored)")
        }
        #expect(parse("bytes=0-", 0) == .unsatisfiable)
        #expect(parse("bytes=-1", 0) == .unsatisfiable)
    }

    @Test("Content-Range: a span of a known total, or a question about one")
    func contentRanges() {
        #expect(FileTransferRoutes.contentRange("bytes 0-99/1000")?.range == 0...99)
        #expect(FileTransferRoutes.contentRange("bytes 0-99/1000")?.total == 1000)
        #expect(FileTransferRoutes.contentRange("bytes */1000")?.range == nil)
        #expect(FileTransferRoutes.contentRange("bytes */1000")?.total == 1000)
        for bad in ["bytes 0-1000/1000", "bytes 5-4/10", "bytes 0-1/*", "0-1/10", "bytes -1-2/10"] {
            #expect(FileTransferRoutes.contentRange(bad) == nil, "\(bad)")
        }
    }

    @Test("Digest: sha-256 and md5 in Base64, others ignored; Base64 both ways")
    func digests() {
        let parsed = FileTransferRoutes.digests([
            "sha-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=, crc32c=AAAAAA=="
        ])
        #expect(parsed.keys.sorted() == ["sha-256"])
        #expect(Hex.encode(parsed["sha-256"]!) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(
            FileTransferRoutes.digests(["MD5=1B2M2Y8AsgTpgAmY7PhCfg=="])["md5"].map(Hex.encode)
                == "d41d8cd98f00b204e9800998ecf8427e"
        )
        for length in 0..<20 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 * 37 + 11) }
            #expect(length == 0 || Base64.decode(Base64.encode(bytes)) == bytes)
        }
        #expect(Base64.encode(Array("foobar".utf8)) == "Zm9vYmFy" && Base64.encode(Array("fo".utf8)) == "Zm8=")
        for bad in ["", "Zm9", "Zm9v!", "Z=9v", "Zm==Zm9v"] { #expect(Base64.decode(bad) == nil, "\(bad)") }
    }

    @Test("paths are percent-decoded; bad escapes and invalid UTF-8 are refused")
    func percentDecoding() {
        #expect(FileTransferRoutes.percentDecoded("data:a%20b/c%3Ad") == "data:a b/c:d")
        #expect(FileTransferRoutes.percentDecoded("data:%zz") == nil)
        #expect(FileTransferRoutes.percentDecoded("data:%2") == nil)
        #expect(FileTransferRoutes.percentDecoded("data:%ff") == nil)
    }
}

extension LoginThrottle.Decision {
    fileprivate var admitted: Bool {
        if case .admitted = self { true } else { false }
    }

    fileprivate var waitSeconds: Double? {
        if case .refused(let wait) = self { wait.seconds } else { nil }
    }
}
