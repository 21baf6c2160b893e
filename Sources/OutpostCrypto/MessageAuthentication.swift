import COpenSSL

/// HMAC-SHA256 (RFC 2104) by OpenSSL's libcrypto: a tag that only a holder of the key can make, and check.
public enum MessageAuthentication {
    public static func sha256(key: [UInt8], message: some Sequence<UInt8>) -> [UInt8] {
        let bytes = Array(message)
        var tag = [UInt8](repeating: 0, count: 32)
        let made = key.withUnsafeBufferPointer { key in
            bytes.withUnsafeBufferPointer { data in
                outpost_hmac_sha256(key.baseAddress, key.count, data.baseAddress, data.count, &tag)
            }
        }
        guard made == 1 else { fatalError("libcrypto could not compute an HMAC: out of memory") }
        return tag
    }
}
