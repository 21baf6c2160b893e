#if canImport(Glibc)
import Glibc
#endif

/// A state-directory problem: which path, and what is wrong with it.
public struct StateDirectoryError: Error, Sendable, CustomStringConvertible {
    public var path: String
    public var message: String

    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    public var description: String { "\(path): \(message)" }

    /// sysexits.h's EX_CANTCREAT.
    public static let exitStatus: Int32 = 73
}

/// Small, careful file operations on the state directory: create it private, read small files, and replace files
/// atomically (write, fsync, rename, fsync the directory) so a crash never leaves a half-written file.
public enum StateDirectory {
    public static func prepare(_ path: String) throws(StateDirectoryError) {
        var status = stat()
        if stat(path, &status) == 0 {
            guard (status.st_mode & S_IFMT) == S_IFDIR else {
                throw StateDirectoryError(path: path, message: "exists and is not a directory")
            }
            guard access(path, W_OK | X_OK) == 0 else {
                throw StateDirectoryError(
                    path: path,
                    message: "is not writable by this user (\(String(cString: strerror(errno))))"
                )
            }
            return
        }
        // Create missing parents too, like `mkdir -p`; the state directory itself is private to the daemon.
        var prefix = ""
        for component in path.split(separator: "/") {
            prefix += "/" + component
            if mkdir(prefix, prefix == path ? 0o750 : 0o755) != 0 && errno != EEXIST {
                throw StateDirectoryError(
                    path: prefix,
                    message: "cannot create the directory: \(String(cString: strerror(errno)))"
                )
            }
        }
    }

    /// The permission bits of `path` (following symlinks), or nil when it cannot be examined.
    public static func permissions(of path: String) -> UInt32? {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        return UInt32(status.st_mode & 0o7777)
    }

    /// Returns the file's text, or nil if it does not exist.
    public static func readSmallFile(_ path: String, limit: Int = 4096) throws(StateDirectoryError) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw StateDirectoryError(path: path, message: "cannot read: \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while bytes.count <= limit {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else {
                throw StateDirectoryError(path: path, message: "cannot read: \(String(cString: strerror(errno)))")
            }
            if count == 0 { return String(decoding: bytes, as: UTF8.self) }
            bytes.append(contentsOf: chunk[..<count])
        }
        throw StateDirectoryError(path: path, message: "is larger than \(limit) bytes; is it the right file?")
    }

    public static func writeAtomically(_ path: String, contents: String, mode: mode_t) throws(StateDirectoryError) {
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard fd >= 0 else {
            throw StateDirectoryError(path: temporary, message: "cannot create: \(String(cString: strerror(errno)))")
        }
        let bytes = Array(contents.utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd)
        close(fd)
        guard written == bytes.count, synced == 0 else {
            unlink(temporary)
            throw StateDirectoryError(path: temporary, message: "cannot write: \(String(cString: strerror(errno)))")
        }
        guard rename(temporary, path) == 0 else {
            unlink(temporary)
            throw StateDirectoryError(
                path: path,
                message: "cannot rename into place: \(String(cString: strerror(errno)))"
            )
        }
        let directory = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
        let directoryFD = open(directory.isEmpty ? "/" : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryFD >= 0 {
            fsync(directoryFD)
            close(directoryFD)
        }
    }

    /// Removes a file if it exists; a missing file is not an error.
    public static func remove(_ path: String) {
        _ = unlink(path)
    }
}
