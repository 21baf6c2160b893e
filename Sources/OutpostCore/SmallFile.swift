#if canImport(Glibc)
import Glibc
#endif

/// Reads the small files a daemon looks at all the time (`/proc/PID/stat`, `/proc/meminfo`, a progress file): whole,
/// up to `limit` bytes, with no error beyond "could not open it" (a process that exited, a file not written yet).
public enum SmallFile {
    public static func read(_ path: String, limit: Int = 4096) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: min(limit, 65536))
        while bytes.count < limit {
            let count = chunk.withUnsafeMutableBytes {
                Glibc.read(fd, $0.baseAddress, min($0.count, limit - bytes.count))
            }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            bytes += chunk[..<count]
        }
        return bytes
    }

    /// The file's lines, as text (invalid UTF-8 repaired); empty when it cannot be read.
    public static func lines(_ path: String, limit: Int = 1 << 16) -> [Substring] {
        String(decoding: read(path, limit: limit) ?? [], as: UTF8.self).split(separator: "\n")
    }
}
