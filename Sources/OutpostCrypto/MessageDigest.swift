import COpenSSL

/// A message digest computed by OpenSSL's libcrypto (EVP), incrementally or in one call.
///
/// Why libcrypto rather than code of our own: the coordinator hashes every client secret it checks, and the scheduler
/// client verifies every download's MD5; libcrypto's implementations are the vetted, assembly-optimised ones.
public struct MessageDigest: ~Copyable {
    public enum Algorithm: Sendable {
        case md5
        case sha256

        fileprivate var evp: OpaquePointer? {
            switch self {
            case .md5: EVP_md5()
            case .sha256: EVP_sha256()
            }
        }
    }

    private let context: OpaquePointer

    public init(_ algorithm: Algorithm) {
        guard let context = EVP_MD_CTX_new(), EVP_DigestInit_ex(context, algorithm.evp, nil) == 1 else {
            fatalError("libcrypto could not start a digest: out of memory")
        }
        self.context = context
    }

    deinit { EVP_MD_CTX_free(context) }

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        EVP_DigestUpdate(context, base, bytes.count)
    }

    public mutating func update(_ bytes: some Sequence<UInt8>) {
        let array = Array(bytes)
        array.withUnsafeBytes { update($0) }
    }

    /// The digest; the value is consumed.
    public consuming func finish() -> [UInt8] {
        var output = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        EVP_DigestFinal_ex(context, &output, &length)
        return Array(output.prefix(Int(length)))
    }

    /// The digest of `bytes` in one call.
    public static func hash(_ algorithm: Algorithm, _ bytes: some Sequence<UInt8>) -> [UInt8] {
        var digest = MessageDigest(algorithm)
        digest.update(bytes)
        return digest.finish()
    }
}
