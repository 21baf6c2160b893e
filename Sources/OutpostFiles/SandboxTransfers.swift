import CLinuxShims

#if canImport(Glibc)
import Glibc
#endif

/// Whole files in and out of a sandbox, for the remote listener's `GET` and `PUT /v1/files/…`: opened beneath the
/// sandbox root like every other file operation (so `..` and symlinks out are refused by the kernel), read and
/// written through descriptors, and an upload kept in a partial file beside its target until it is complete and
/// verified, then renamed into place: a reader never sees half a file, and a failed or interrupted upload leaves the
/// target as it was.
public enum SandboxTransfers {
    /// Opens a regular file for reading.
    ///
    /// `O_NONBLOCK` comes before the type check: opening a FIFO for reading otherwise waits for a writer, and a user
    /// who leaves FIFOs in their sandbox would tie up the threads every transfer and sign-in shares. (It has no
    /// effect on the reads of a regular file.)
    public static func openForReading(
        _ path: SandboxPath,
        resolver: SandboxResolver
    ) throws(FileOperationError) -> ReadableFile {
        try resolver.acting { () throws(FileOperationError) -> ReadableFile in
            let root = try resolver.openRoot(of: path)
            let file = try SandboxResolver.openBeneath(
                root,
                path.relative,
                flags: O_RDONLY | O_NONBLOCK | O_NOCTTY,
                displayPath: path.text
            )
            let status = try regularFileStatus(file.raw, path.text)
            return ReadableFile(descriptor: file.release(), status: status)
        }
    }

    /// The status of an open file, or a refusal when it is not a regular file.
    static func regularFileStatus(_ fd: Int32, _ displayPath: String) throws(FileOperationError) -> stat {
        var status = stat()
        guard fstat(fd, &status) == 0 else { throw .system(errno, path: displayPath, doing: "stat") }
        guard (status.st_mode & S_IFMT) == S_IFREG else {
            throw FileOperationError(.refused, path: displayPath, message: "\(displayPath) is not a regular file")
        }
        return status
    }

    /// Opens (creating if needed) the partial file for an upload to `path`; `owner` is given the new file when the
    /// daemon runs as root for another user.
    public static func openUpload(
        _ path: SandboxPath,
        resolver: SandboxResolver,
        owner: (uid: UInt32, gid: UInt32)?
    ) throws(FileOperationError) -> PartialUpload {
        try resolver.acting { () throws(FileOperationError) -> PartialUpload in
            let entry = try resolver.openParent(of: path)
            let partialName = Array(".".utf8) + entry.name + Array(".outpost-partial".utf8)
            let parent = entry.parent.raw
            // The parent was opened O_PATH; a real directory descriptor is needed for the *at calls and fsync.
            let directory = openat(parent, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard directory >= 0 else { throw .system(errno, path: path.text, doing: "open the directory") }
            let fd = partialName.withCName { name in
                openat(directory, name, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY, 0o644)
            }
            guard fd >= 0 else {
                let error = errno
                close(directory)
                throw .system(error, path: path.text, doing: "create the partial upload")
            }
            do throws(FileOperationError) {
                _ = try regularFileStatus(fd, path.text)
            } catch {
                close(fd)
                close(directory)
                throw error
            }
            if let owner, geteuid() == 0 { _ = fchown(fd, owner.uid, owner.gid) }
            return PartialUpload(
                directory: directory,
                descriptor: fd,
                name: entry.name,
                partialName: partialName,
                displayPath: path.text,
                identity: resolver.identity
            )
        }
    }
}

extension SandboxTransfers {
    /// Feeds a file's bytes in order to `body`, a megabyte at a time (for a checksum of the whole file).
    static func forEachChunk(
        of descriptor: Int32,
        displayPath: String,
        doing: String,
        _ body: (UnsafeRawBufferPointer) -> Void
    ) throws(FileOperationError) {
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var offset: off_t = 0
        while true {
            let count = buffer.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, offset) }
            if count < 0 {
                if errno == EINTR { continue }
                throw .system(errno, path: displayPath, doing: doing)
            }
            if count == 0 { return }
            buffer.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
            offset += off_t(count)
        }
    }
}

/// A regular file open for reading; closed when the last reference goes.
public final class ReadableFile: Sendable {
    private let descriptor: Int32
    public let size: Int64
    /// Changes whenever the file is replaced or modified: inode, size and modification time.
    public let entityTag: String

    init(descriptor: Int32, status: stat) {
        self.descriptor = descriptor
        size = Int64(status.st_size)
        let modified = Int64(status.st_mtim.tv_sec) * 1_000_000_000 + Int64(status.st_mtim.tv_nsec)
        entityTag =
            "\"\(String(status.st_ino, radix: 16))-\(String(size, radix: 16))-\(String(modified, radix: 16))\""
    }

    deinit { close(descriptor) }

    /// The whole file in order, for its checksum.
    public func forEachChunk(_ body: (UnsafeRawBufferPointer) -> Void) throws(FileOperationError) {
        try SandboxTransfers.forEachChunk(of: descriptor, displayPath: "the file", doing: "read", body)
    }

    /// Up to `count` bytes at `offset`; fewer only at the end of the file.
    public func read(at offset: Int64, count: Int) throws(FileOperationError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            let got = bytes.withUnsafeMutableBytes { buffer in
                pread(descriptor, buffer.baseAddress! + filled, count - filled, off_t(offset) + off_t(filled))
            }
            if got < 0 {
                if errno == EINTR { continue }
                throw .system(errno, path: "", doing: "read")
            }
            if got == 0 { break }
            filled += got
        }
        bytes.removeLast(count - filled)
        return bytes
    }
}

/// An upload in progress: the partial file beside the target, appended to until it is complete, then committed
/// (fsync, rename over the target, fsync the directory) or left for a later resume.
public final class PartialUpload: Sendable {
    private let directory: Int32
    private let descriptor: Int32
    private let name: [UInt8]
    private let partialName: [UInt8]
    private let displayPath: String
    /// Who renames or removes it (the uploader): the directory's permissions are checked for them.
    private let identity: FileIdentity?

    init(
        directory: Int32,
        descriptor: Int32,
        name: [UInt8],
        partialName: [UInt8],
        displayPath: String,
        identity: FileIdentity?
    ) {
        self.directory = directory
        self.descriptor = descriptor
        self.name = name
        self.partialName = partialName
        self.displayPath = displayPath
        self.identity = identity
    }

    deinit {
        close(descriptor)
        close(directory)
    }

    /// Bytes already received.
    public var size: Int64 {
        var status = stat()
        return fstat(descriptor, &status) == 0 ? Int64(status.st_size) : 0
    }

    /// Drops what was received after `length` bytes (0 starts over).
    public func truncate(to length: Int64) throws(FileOperationError) {
        guard ftruncate(descriptor, off_t(length)) == 0 else {
            throw .system(errno, path: displayPath, doing: "truncate the partial upload")
        }
    }

    /// Writes `bytes` at `offset`; a full disk or quota is an error that says so, and what was written stays.
    public func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(FileOperationError) {
        var written = 0
        while written < bytes.count {
            let count = pwrite(
                descriptor,
                bytes.baseAddress! + written,
                bytes.count - written,
                off_t(offset) + off_t(written)
            )
            if count < 0 {
                if errno == EINTR { continue }
                let error = errno
                if error == ENOSPC || error == EDQUOT {
                    throw FileOperationError(
                        .system,
                        path: displayPath,
                        message: "\(displayPath): no space left on the device; the target is unchanged",
                        errno: error
                    )
                }
                throw .system(error, path: displayPath, doing: "write")
            }
            written += count
        }
        // Begin putting these bytes on disk now, while the next ones arrive: `commit`'s fsync then waits for little.
        _ = outpost_start_writeback(descriptor, offset, Int64(bytes.count))
    }

    /// Reads the received bytes back in order, for a checksum of the whole file.
    public func forEachChunk(_ body: (UnsafeRawBufferPointer) -> Void) throws(FileOperationError) {
        try SandboxTransfers.forEachChunk(of: descriptor, displayPath: displayPath, doing: "read back the upload", body)
    }

    /// Makes the upload the target: its bytes on disk first, then the rename, then the directory entry on disk.
    public func commit() throws(FileOperationError) {
        guard fsync(descriptor) == 0 else { throw .system(errno, path: displayPath, doing: "fsync") }
        try FileIdentity.perform(as: identity) { () throws(FileOperationError) in
            let renamed = partialName.withCName { from in
                name.withCName { to in renameat(directory, from, directory, to) }
            }
            guard renamed == 0 else { throw .system(errno, path: displayPath, doing: "rename into place") }
        }
        fsync(directory)
    }

    /// Removes the partial file (a failed checksum: the bytes are wrong, resuming would keep them).
    public func discard() {
        try? FileIdentity.perform(as: identity) { () throws(FileOperationError) in
            _ = partialName.withCName { unlinkat(directory, $0, 0) }
        }
    }
}
