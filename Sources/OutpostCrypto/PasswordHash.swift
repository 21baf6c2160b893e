import COpenSSL

/// A password stored as an scrypt hash in a self-describing text form, `scrypt$N$r$p$salt$hash` (hex salt and hash),
/// so that a file of them names its own cost and the cost can be raised later without breaking old entries.
///
/// Why scrypt through libcrypto: it is memory-hard (16 MiB per check at the default cost), so a stolen credentials
/// file is expensive to attack with GPUs, and libcrypto's implementation is the vetted one already linked for MD5.
public struct PasswordHash: Sendable, Equatable, CustomStringConvertible {
    public let text: String

    /// scrypt's parameters: `n` (CPU and memory cost, a power of two), `r` (block size), `p` (parallelism).
    public struct Cost: Sendable, Equatable {
        public var n: UInt64
        public var r: UInt64
        public var p: UInt64

        public init(n: UInt64, r: UInt64, p: UInt64) {
            self.n = n
            self.r = r
            self.p = p
        }

        /// The cost scrypt's paper gives for interactive logins: about 50 ms and 16 MiB here.
        public static let interactive = Cost(n: 1 << 14, r: 8, p: 1)

        /// The memory one check needs, with room for libcrypto's own bookkeeping.
        var memoryBound: UInt64 { 128 * r * n + 128 * r * p + (1 << 20) }

        var isSane: Bool {
            n >= 2 && n <= 1 << 20 && n & (n - 1) == 0 && (1...32).contains(r) && (1...16).contains(p)
        }
    }

    private static let saltBytes = 16
    private static let hashBytes = 32

    /// Hashes `password` with a fresh random salt.
    public static func make(password: String, cost: Cost = .interactive) -> PasswordHash {
        let salt = SecretBytes.random(count: saltBytes)
        guard let hash = derive(password: password, salt: salt, cost: cost, length: hashBytes) else {
            fatalError("libcrypto's scrypt failed with valid parameters: out of memory")
        }
        return PasswordHash(
            unchecked: "scrypt$\(cost.n)$\(cost.r)$\(cost.p)$\(Hex.encode(salt))$\(Hex.encode(hash))"
        )
    }

    private init(unchecked text: String) {
        self.text = text
    }

    /// Nil unless `text` is a well-formed hash of this kind with sane parameters.
    public init?(text: String) {
        guard Self.parse(text) != nil else { return nil }
        self.text = text
    }

    /// True when `password` is the one this hash was made from; the comparison takes the same time however many
    /// bytes match.
    public func verify(_ password: String) -> Bool {
        guard let (cost, salt, expected) = Self.parse(text),
            let actual = Self.derive(password: password, salt: salt, cost: cost, length: expected.count)
        else { return false }
        return SecretBytes.equal(actual, expected)
    }

    /// Never the hash itself: descriptions end up in logs.
    public var description: String { "PasswordHash(scrypt)" }

    private static func parse(_ text: String) -> (Cost, [UInt8], [UInt8])? {
        let parts = text.split(separator: "$", omittingEmptySubsequences: false)
        guard parts.count == 6, parts[0] == "scrypt", let n = UInt64(parts[1]), let r = UInt64(parts[2]),
            let p = UInt64(parts[3]), let salt = Hex.decode(String(parts[4])), let hash = Hex.decode(String(parts[5])),
            !salt.isEmpty, (16...64).contains(hash.count)
        else { return nil }
        let cost = Cost(n: n, r: r, p: p)
        guard cost.isSane else { return nil }
        return (cost, salt, hash)
    }

    private static func derive(password: String, salt: [UInt8], cost: Cost, length: Int) -> [UInt8]? {
        var output = [UInt8](repeating: 0, count: length)
        let passwordBytes = Array(password.utf8)
        let status = passwordBytes.withUnsafeBufferPointer { passwordBuffer in
            passwordBuffer.withMemoryRebound(to: CChar.self) { passwordChars in
                EVP_PBE_scrypt(
                    passwordChars.baseAddress,
                    passwordChars.count,
                    salt,
                    salt.count,
                    cost.n,
                    cost.r,
                    cost.p,
                    cost.memoryBound,
                    &output,
                    length
                )
            }
        }
        return status == 1 ? output : nil
    }
}
