import CLinuxShims

#if canImport(Glibc)
import Glibc
#endif

/// Reads a directory's entry names through its fd (never by path), skipping `.` and `..`.
///
/// It calls getdents64(2) on the fd itself into one buffer per walk: no `dup`, `fdopendir` or `closedir` around
/// it, and each name is handed out where the kernel wrote it, NUL-terminated, so the `fstatat` that usually follows
/// needs no copy. A small listing is dominated by system calls, and this saves five per directory and two
/// allocations per entry.
enum DirectoryReader {
    /// One entry, valid only during the call that receives it: its name points into the read buffer.
    struct Entry {
        /// The name's bytes, without the terminating NUL.
        let name: UnsafeBufferPointer<UInt8>
        /// The same name, NUL-terminated, for the `*at` calls.
        let cName: UnsafePointer<CChar>
        /// `d_type`; DT_UNKNOWN on file systems that do not fill it.
        let type: UInt8

        /// The name copied out, to keep past the call.
        var bytes: [UInt8] { Array(name) }
    }

    /// As glibc's `opendir` reads: about 1,000 typical entries per system call.
    static let bufferBytes = 32 << 10

    private static let recordLengthOffset = MemoryLayout<dirent>.offset(of: \dirent.d_reclen)!
    private static let typeOffset = MemoryLayout<dirent>.offset(of: \dirent.d_type)!
    private static let nameOffset = MemoryLayout<dirent>.offset(of: \dirent.d_name)!

    /// Calls `body` for each entry of the directory open as `directory` (which stays open and owned by the caller),
    /// from its first entry whatever was read through the fd before.
    static func forEach(
        in directory: borrowing OwnedDescriptor,
        path: String,
        _ body: (Entry) throws(FileOperationError) -> Void
    ) throws(FileOperationError) {
        try forEach(in: directory.raw, path: path, body)
    }

    /// The same, for a descriptor owned elsewhere (a `DirectoryStack` level).
    static func forEach(
        in fd: Int32,
        path: String,
        _ body: (Entry) throws(FileOperationError) -> Void
    ) throws(FileOperationError) {
        guard lseek(fd, 0, SEEK_SET) == 0 else {
            throw FileOperationError.system(errno, path: path, doing: "read directory")
        }
        let buffer = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: bufferBytes)
        defer { buffer.deallocate() }
        let base = buffer.baseAddress!
        while true {
            let filled = outpost_read_directory(fd, base, UInt(buffer.count))
            if filled == 0 { return }
            if filled < 0 {
                if errno == EINTR { continue }
                throw FileOperationError.system(errno, path: path, doing: "read directory")
            }
            var offset = 0
            while offset < filled {
                let record = base + offset
                offset += Int(
                    UnsafeRawPointer(record).loadUnaligned(fromByteOffset: recordLengthOffset, as: UInt16.self)
                )
                let namePointer = record + nameOffset
                let name = UnsafeBufferPointer(start: namePointer, count: strlen(namePointer))
                if name.count <= 2 && name.allSatisfy({ $0 == UInt8(ascii: ".") }) { continue }
                let cName = UnsafeRawPointer(namePointer).assumingMemoryBound(to: CChar.self)
                try body(Entry(name: name, cName: cName, type: record[typeOffset]))
            }
        }
    }
}

extension Array where Element == UInt8 {
    /// The name as C wants it (NUL-terminated).
    func withCName<Result>(_ body: (UnsafePointer<CChar>) -> Result) -> Result {
        (self + [0]).withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { body($0.baseAddress!) }
        }
    }

    /// For display and JSON, losslessly (see `FileName`).
    var displayName: String { FileName.text(self) }
}
