import COpenSSL

/// BOINC code signing (`lib/crypt.cpp`): a project signs each app file's MD5 text with a 1024-bit RSA key, and a
/// client holding the project's public key checks the signature before it runs the file.
///
/// The wire forms are BOINC's: a public key is `"1024\n"` and the hex of the 128-byte big-endian modulus followed by
/// the 128-byte exponent, 32 bytes per line, ending in `.`; a signature is the hex of the PKCS#1 v1.5 type-1 RSA of
/// the 32 ASCII characters of the lowercase MD5, in the same layout. 1024 bits is BOINC's maximum
/// (`MAX_RSA_MODULUS_BITS`); the key signs code, it does not protect transport.
public final class CodeSigningKey: @unchecked Sendable {
    // @unchecked: the EVP_PKEY is never mutated after init, and OpenSSL 3 keys may be used from several threads.
    private let key: OpaquePointer
    public let hasPrivateKey: Bool

    static let modulusBytes = 128

    private init(key: OpaquePointer, hasPrivateKey: Bool) {
        self.key = key
        self.hasPrivateKey = hasPrivateKey
    }

    deinit { EVP_PKEY_free(key) }

    /// A new key pair.
    public static func generate() -> CodeSigningKey {
        guard let key = outpost_rsa_generate(1024) else { fatalError("libcrypto could not generate an RSA key") }
        return CodeSigningKey(key: key, hasPrivateKey: true)
    }

    /// A key pair from its DER form (`privateKeyDER`).
    public init(privateKeyDER der: [UInt8]) throws(CodeSigningError) {
        guard let key = outpost_private_key_from_der(der, der.count) else {
            throw CodeSigningError("the code-signing key file does not hold an RSA private key")
        }
        self.key = key
        hasPrivateKey = true
    }

    /// A public key from BOINC's text form.
    public init(publicKeyText text: String) throws(CodeSigningError) {
        let lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingWhitespace() }.filter { !$0.isEmpty }
        guard let bitsLine = lines.first, let bits = Int(bitsLine), bits > 0, bits <= 1024 else {
            throw CodeSigningError("a code-signing key starts with its size in bits (at most 1024)")
        }
        let body = try Self.hexBody(lines.dropFirst())
        guard body.count == 2 * Self.modulusBytes else {
            throw CodeSigningError("a code-signing key holds \(2 * Self.modulusBytes) bytes, not \(body.count)")
        }
        guard
            let key = outpost_rsa_public_key(
                body,
                Int32(Self.modulusBytes),
                Array(body[Self.modulusBytes...]),
                Int32(Self.modulusBytes)
            )
        else {
            throw CodeSigningError("the code-signing key is not a valid RSA public key")
        }
        self.key = key
        hasPrivateKey = false
    }

    public var privateKeyDER: [UInt8] {
        let length = outpost_private_key_der(key, nil, 0)
        guard hasPrivateKey, length > 0 else { return [] }
        var output = [UInt8](repeating: 0, count: Int(length))
        let written = outpost_private_key_der(key, &output, length)
        return Array(output.prefix(Int(max(written, 0))))
    }

    /// The public key in BOINC's text form.
    public var publicKeyText: String {
        var modulus = [UInt8](repeating: 0, count: Self.modulusBytes)
        var exponent = [UInt8](repeating: 0, count: Self.modulusBytes)
        guard
            outpost_rsa_public_components(key, &modulus, Int32(Self.modulusBytes), &exponent, Int32(Self.modulusBytes))
                == 1
        else {
            fatalError("libcrypto could not read an RSA key's modulus")
        }
        return "1024\n" + Self.hexLines(modulus + exponent)
    }

    /// The signature of a file whose MD5 is `md5` (lowercase hex).
    public func signature(md5: String) throws(CodeSigningError) -> String {
        guard hasPrivateKey else { throw CodeSigningError("a public key cannot sign") }
        let input = Array(md5.lowercased().utf8)
        var output = [UInt8](repeating: 0, count: Self.modulusBytes)
        let length = outpost_rsa_private_encrypt(key, input, Int32(input.count), &output, Int32(output.count))
        guard length > 0 else { throw CodeSigningError("libcrypto could not sign") }
        return Self.hexLines(Array(output.prefix(Int(length))))
    }

    /// Whether `signatureText` is this key's signature of the MD5 text `md5`.
    public func verify(signatureText: String, md5: String) -> Bool {
        let lines = signatureText.split(whereSeparator: \.isNewline).map { $0.trimmingWhitespace() }
        guard let signature = try? Self.hexBody(lines[...]), !signature.isEmpty else { return false }
        var output = [UInt8](repeating: 0, count: Self.modulusBytes)
        let length = outpost_rsa_public_decrypt(key, signature, Int32(signature.count), &output, Int32(output.count))
        guard length > 0 else { return false }
        let expected = Array(md5.lowercased().utf8)
        // BOINC compares with strncmp over the MD5's length.
        return SecretBytes.equal(Array(output.prefix(Int(length)).prefix(expected.count)), expected)
    }

    static func hexLines(_ bytes: [UInt8]) -> String {
        var text = ""
        var index = 0
        while index < bytes.count {
            text += Hex.encode(bytes[index..<min(index + 32, bytes.count)]) + "\n"
            index += 32
        }
        return text + ".\n"
    }

    /// The bytes of hex lines up to the line holding only `.`.
    static func hexBody(_ lines: ArraySlice<Substring>) throws(CodeSigningError) -> [UInt8] {
        var bytes: [UInt8] = []
        for line in lines {
            if line == "." { return bytes }
            guard let decoded = Hex.decode(String(line)) else {
                throw CodeSigningError("'\(line.prefix(16))…' is not hexadecimal")
            }
            bytes += decoded
        }
        throw CodeSigningError("hex data must end with a line holding '.'")
    }
}

public struct CodeSigningError: Error, Sendable, CustomStringConvertible {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}

extension Substring {
    fileprivate func trimmingWhitespace() -> Substring {
        let trimmed = drop { $0.isWhitespace }
        return trimmed.dropLast(trimmed.reversed().prefix { $0.isWhitespace }.count)
    }
}
