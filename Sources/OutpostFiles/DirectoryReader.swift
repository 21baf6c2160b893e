#if canImport(Glibc)
import Glibc
#endif

/// Reads a directory's entry names through its fd (never by path), skipping `.` and `..`.
enum DirectoryReader {
    struct Entry {
        var name: [UInt8]
        /// `d_type`; DT_UNKNOWN on file systems that do not fill it.
        var type: UInt8
    }

    /// Calls `body` for each entry of the directory open as `directory` (which stays open and owned by the caller).
    static func forEach(
        in directory: borrowing OwnedDescriptor,
        path: String,
        _ body: (Entry) throws(FileOperationError) -> Void
    ) throws(FileOperationError) {
        let copy = dup(directory.raw)
        guard copy >= 0, let stream = fdopendir(copy) else {
            if copy >= 0 { close(copy) }
            throw FileOperationError.system(errno, path: path, doing: "read directory")
        }
        defer { closedir(stream) }
        rewinddir(stream)
        while true {
            errno = 0
            guard let entry = readdir(stream) else {
                if errno != 0 { throw FileOperationError.system(errno, path: path, doing: "read directory") }
                return
            }
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                Array(raw.prefix { $0 != 0 })
            }
            if name == [UInt8(ascii: ".")] || name == [UInt8(ascii: "."), UInt8(ascii: ".")] { continue }
            try body(Entry(name: name, type: entry.pointee.d_type))
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
