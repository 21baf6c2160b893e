#if canImport(Glibc)
import Glibc
#endif

/// Small file helpers for transfers.
enum FileSize {
    static func of(_ path: String) -> Int64? {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        return Int64(status.st_size)
    }

    static func writeAll(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws(TransferError) {
        var offset = 0
        while offset < bytes.count {
            let count = write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else {
                // A full disk is transient: the job waits, nothing is lost, and the transfer resumes later.
                throw .transient("cannot write \(path): \(String(cString: strerror(errno)))")
            }
            offset += count
        }
    }
}
