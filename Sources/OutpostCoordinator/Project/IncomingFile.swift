import OutpostCrypto

#if canImport(Glibc)
import Glibc
#endif

/// A file arriving over HTTP in chunks: written as it comes (never buffered whole), counted against a size cap, and
/// hashed (MD5, as BOINC checks files) so its digest is known when the last byte lands.
///
/// Admin uploads go to a staging name and are renamed into the download directory only when complete; BOINC uploads
/// resume at an offset, so they write the target in place and the digest covers the bytes of this request only.
final class IncomingFile {
    let path: String
    private var descriptor: Int32
    private var digest: MessageDigest? = MessageDigest(.md5)
    private(set) var written: Int64 = 0
    let limit: Int64

    /// Opens `path` for writing from `offset` (truncating anything after it), or fails with the reason.
    init(path: String, offset: Int64 = 0, limit: Int64) throws(RegistryError) {
        self.path = path
        self.limit = limit
        descriptor = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o640)
        guard descriptor >= 0 else {
            throw RegistryError(.conflict, "cannot write \(path): \(String(cString: strerror(errno)))")
        }
        guard ftruncate(descriptor, off_t(offset)) == 0, lseek(descriptor, off_t(offset), SEEK_SET) == off_t(offset)
        else {
            let reason = String(cString: strerror(errno))
            close(descriptor)
            throw RegistryError(.conflict, "cannot position \(path) at \(offset): \(reason)")
        }
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
    }

    func append(_ bytes: UnsafeRawBufferPointer) throws(RegistryError) {
        guard written + Int64(bytes.count) <= limit else {
            throw RegistryError(.invalid, "the file is larger than the \(limit) bytes allowed")
        }
        digest?.update(bytes)
        var offset = 0
        while offset < bytes.count {
            let count = write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else {
                // ENOSPC lands here: the sender retries later, nothing already stored is touched.
                throw RegistryError(.conflict, "cannot write \(path): \(String(cString: strerror(errno)))")
            }
            offset += count
        }
        written += Int64(bytes.count)
    }

    /// Flushes to disk and closes; returns the MD5 (lowercase hex) of the bytes this request wrote.
    func finish() throws(RegistryError) -> String {
        let synced = fsync(descriptor)
        close(descriptor)
        descriptor = -1
        guard synced == 0 else {
            throw RegistryError(.conflict, "cannot flush \(path): \(String(cString: strerror(errno)))")
        }
        return Hex.encode(digest.take()?.finish() ?? [])
    }

    static func size(of path: String) -> Int64? {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        return Int64(status.st_size)
    }
}
