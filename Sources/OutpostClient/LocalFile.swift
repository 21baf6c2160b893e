import CLinuxShims

#if canImport(Glibc)
import Glibc
#endif

/// A local file a transfer reads or writes, owned by the transfer: positional reads and writes, and errors that
/// name the path.
final class LocalFile {
    let path: String
    let fd: Int32

    /// - Parameter flags: `open(2)` flags; `O_CLOEXEC` is added.
    init(_ path: String, flags: Int32, mode: mode_t = 0o644) throws(ControlClientError) {
        let fd = open(path, flags | O_CLOEXEC, mode)
        guard fd >= 0 else { throw Self.error("cannot open", path, errno) }
        self.path = path
        self.fd = fd
    }

    deinit {
        close(fd)
    }

    static func error(_ what: String, _ path: String, _ code: Int32) -> ControlClientError {
        ControlClientError(code: .io, message: "\(what) \(path): \(String(cString: strerror(code)))", errno: code)
    }

    var size: Int64 {
        get throws(ControlClientError) {
            var status = stat()
            guard fstat(fd, &status) == 0 else { throw Self.error("cannot stat", path, errno) }
            return Int64(status.st_size)
        }
    }

    var isRegularFile: Bool {
        var status = stat()
        return fstat(fd, &status) == 0 && status.st_mode & S_IFMT == S_IFREG
    }

    /// Up to `count` bytes at `offset`; fewer only at the end of the file.
    func read(
        at offset: Int64,
        count: Int,
        into buffer: UnsafeMutableRawBufferPointer
    ) throws(ControlClientError)
        -> Int
    {
        var filled = 0
        while filled < count {
            let got = pread(fd, buffer.baseAddress! + filled, count - filled, off_t(offset) + off_t(filled))
            if got < 0 {
                if errno == EINTR { continue }
                throw Self.error("cannot read", path, errno)
            }
            if got == 0 { break }
            filled += got
        }
        return filled
    }

    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(ControlClientError) {
        var written = 0
        while written < bytes.count {
            let count = pwrite(fd, bytes.baseAddress! + written, bytes.count - written, off_t(offset) + off_t(written))
            if count < 0 {
                if errno == EINTR { continue }
                throw Self.error("cannot write", path, errno)
            }
            written += count
        }
    }

    func truncate(to size: Int64) throws(ControlClientError) {
        guard ftruncate(fd, off_t(size)) == 0 else { throw Self.error("cannot truncate", path, errno) }
    }

    func sync() throws(ControlClientError) {
        guard fsync(fd) == 0 else { throw Self.error("cannot flush", path, errno) }
    }

    /// Feeds bytes `0..<length` to `body`, a megabyte at a time.
    func forEachChunk(upTo length: Int64, _ body: (UnsafeRawBufferPointer) -> Void) throws(ControlClientError) {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        var offset: Int64 = 0
        while offset < length {
            let count = try read(at: offset, count: Int(min(Int64(buffer.count), length - offset)), into: buffer)
            if count == 0 { break }
            body(UnsafeRawBufferPointer(rebasing: buffer[..<count]))
            offset += Int64(count)
        }
    }

    /// A `user.` extended attribute, or nil when it is not set or the file system has none.
    func attribute(_ name: String) -> String? {
        var buffer = [CChar](repeating: 0, count: 512)
        let length = outpost_get_attribute(fd, name, &buffer, UInt(buffer.count))
        guard length >= 0 else { return nil }
        return String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Sets (or, with nil, removes) a `user.` extended attribute; a file system without them only loses resuming.
    func setAttribute(_ name: String, _ value: String?) {
        guard let value else {
            _ = outpost_remove_attribute(fd, name)
            return
        }
        _ = outpost_set_attribute(fd, name, value, UInt(value.utf8.count))
    }
}
