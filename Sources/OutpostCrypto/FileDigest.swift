#if canImport(Glibc)
import Glibc
#endif

/// The MD5 (as BOINC checks files) of a whole file on disk, read in 1 MiB pieces.
public enum FileDigest {
    /// Lowercase hex MD5 and size, or nil when the file cannot be read.
    public static func md5(path: String) -> (md5: String, size: Int64)? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var digest = MessageDigest(.md5)
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var size: Int64 = 0
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { return nil }
            if count == 0 { break }
            buffer.withUnsafeBytes { digest.update(UnsafeRawBufferPointer(rebasing: $0[..<count])) }
            size += Int64(count)
        }
        return (Hex.encode(digest.finish()), size)
    }
}
