import CLinuxShims

#if canImport(Glibc)
import Glibc
#endif

/// A copy of a tree (files, directories, symlinks, with permissions and modification times) for a move that crosses
/// file systems.
///
/// What it creates belongs to `owner` (the caller) when the daemon runs as root for someone else, and never carries
/// a set-user-ID or set-group-ID bit: a copy made by a privileged daemon must not become a way to own a set-ID
/// program (`chmod 4755` on one's own file, then a move across a mount). It walks without recursion
/// (`DirectoryStack`), so a deep tree costs neither the stack nor a descriptor per level.
struct TreeCopier {
    let control: OperationControl
    let displayPath: String
    let owner: (uid: UInt32, gid: UInt32)?

    /// Permission bits a copy keeps: rwx for all three, and the sticky bit (directories); never set-ID.
    static let keptModeBits: mode_t = 0o1777

    mutating func copyEntry(
        from sourceParent: borrowing OwnedDescriptor,
        _ sourceName: [UInt8],
        to destinationParent: borrowing OwnedDescriptor,
        _ destinationName: [UInt8]
    ) throws(FileOperationError) {
        try control.checkCancelled(displayPath)
        let status = try lstat(sourceParent.raw, sourceName)
        guard (status.st_mode & S_IFMT) == S_IFDIR else {
            try copyLeaf(from: sourceParent.raw, sourceName, to: destinationParent.raw, destinationName, status)
            return
        }
        var source = try DirectoryStack(base: sourceParent, displayPath: displayPath)
        var destination = try DirectoryStack(base: destinationParent, displayPath: displayPath)
        // One entry per directory being copied: its source status (for the permissions and times it gets last) and
        // its subdirectories still to copy.
        var open: [(status: stat, pending: [([UInt8], stat)])] = []
        try enter(sourceName, destinationName, status, &source, &destination, &open)
        while !open.isEmpty {
            if let (name, status) = open[open.count - 1].pending.popLast() {
                try control.checkCancelled(displayPath)
                try enter(name, name, status, &source, &destination, &open)
                continue
            }
            let finished = open.removeLast().status
            let fd = try current(&destination)
            finish(fd, finished)
            source.pop()
            destination.pop()
        }
    }

    /// Creates the destination directory, steps into both, and copies the directory's files and links at once.
    private mutating func enter(
        _ sourceName: [UInt8],
        _ destinationName: [UInt8],
        _ status: stat,
        _ source: inout DirectoryStack,
        _ destination: inout DirectoryStack,
        _ open: inout [(status: stat, pending: [([UInt8], stat)])]
    ) throws(FileOperationError) {
        let destinationParent = try current(&destination)
        guard destinationName.withCName({ mkdirat(destinationParent, $0, 0o700) }) == 0 else {
            throw FileOperationError.system(errno, path: displayPath, doing: "create directory at the destination")
        }
        giveToOwner(destinationParent, destinationName)
        control.count()
        try push(sourceName, &source)
        try push(destinationName, &destination)
        let sourceFD = try current(&source)
        let destinationFD = try current(&destination)
        var subdirectories: [([UInt8], stat)] = []
        var leaves: [[UInt8]] = []
        try DirectoryReader.forEach(in: sourceFD, path: displayPath) { entry in leaves.append(entry.bytes) }
        for name in leaves {
            try control.checkCancelled(displayPath)
            let entryStatus = try lstat(sourceFD, name)
            if (entryStatus.st_mode & S_IFMT) == S_IFDIR {
                subdirectories.append((name, entryStatus))
            } else {
                try copyLeaf(from: sourceFD, name, to: destinationFD, name, entryStatus)
            }
        }
        open.append((status, subdirectories))
    }

    /// A file, a symlink, or a refusal for anything else.
    private func copyLeaf(
        from sourceParent: Int32,
        _ sourceName: [UInt8],
        to destinationParent: Int32,
        _ destinationName: [UInt8],
        _ status: stat
    ) throws(FileOperationError) {
        switch status.st_mode & S_IFMT {
        case S_IFLNK:
            var target = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let length = sourceName.withCName { readlinkat(sourceParent, $0, &target, target.count - 1) }
            guard length >= 0 else { throw FileOperationError.system(errno, path: displayPath, doing: "read symlink") }
            target[length] = 0
            guard destinationName.withCName({ symlinkat(target, destinationParent, $0) }) == 0 else {
                throw FileOperationError.system(errno, path: displayPath, doing: "create symlink at the destination")
            }
            giveToOwner(destinationParent, destinationName)
        case S_IFREG:
            try copyFile(from: sourceParent, sourceName, to: destinationParent, destinationName, status: status)
        default:
            throw FileOperationError(
                .refused,
                path: displayPath,
                message: "\(displayPath): cannot move a special file across file systems"
            )
        }
        control.count()
    }

    private func copyFile(
        from sourceParent: Int32,
        _ sourceName: [UInt8],
        to destinationParent: Int32,
        _ destinationName: [UInt8],
        status: stat
    ) throws(FileOperationError) {
        let input = sourceName.withCName {
            outpost_openat_beneath(
                sourceParent,
                $0,
                O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY,
                0,
                outpost_resolve_no_symlinks
            )
        }
        guard input >= 0 else { throw FileOperationError.system(errno, path: displayPath, doing: "open for copying") }
        let source = OwnedDescriptor(input)
        // Swapped for a FIFO or a device since it was looked at: never read from that.
        _ = try SandboxTransfers.regularFileStatus(source.raw, displayPath)
        let output = destinationName.withCName {
            openat(destinationParent, $0, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        }
        guard output >= 0 else {
            throw FileOperationError.system(errno, path: displayPath, doing: "create the copy")
        }
        let destination = OwnedDescriptor(output)
        if let owner, geteuid() == 0 { fchown(destination.raw, owner.uid, owner.gid) }
        try copyBytes(from: source.raw, to: destination.raw, count: Int(status.st_size))
        guard fsync(destination.raw) == 0 else {
            throw FileOperationError.system(errno, path: displayPath, doing: "flush the copy")
        }
        finish(destination.raw, status)
    }

    /// `copy_file_range` where the kernel can; plain reads and writes where it cannot (EXDEV between file systems of
    /// different types on older kernels, EINVAL or EOPNOTSUPP on some file systems, ENOSYS).
    private func copyBytes(from source: Int32, to destination: Int32, count: Int) throws(FileOperationError) {
        var remaining = count
        while remaining > 0 {
            try control.checkCancelled(displayPath)
            let copied = outpost_copy_file_range(source, destination, UInt(min(remaining, 1 << 26)))
            if copied < 0 {
                if errno == EINTR { continue }
                if [EXDEV, EINVAL, EOPNOTSUPP, ENOSYS].contains(errno) { break }
                throw FileOperationError.system(errno, path: displayPath, doing: "copy")
            }
            if copied == 0 { return }  // The source shrank while we copied.
            remaining -= copied
        }
        guard remaining > 0 else { return }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            try control.checkCancelled(displayPath)
            let got = buffer.withUnsafeMutableBytes { read(source, $0.baseAddress, $0.count) }
            if got < 0 {
                if errno == EINTR { continue }
                throw FileOperationError.system(errno, path: displayPath, doing: "read for copying")
            }
            if got == 0 { return }
            var written = 0
            while written < got {
                let count = buffer.withUnsafeBytes { write(destination, $0.baseAddress! + written, got - written) }
                if count < 0 {
                    if errno == EINTR { continue }
                    throw FileOperationError.system(errno, path: displayPath, doing: "write the copy")
                }
                written += count
            }
        }
    }

    /// Permissions (without set-ID bits) and times, last, so that a read-only directory can still be filled first.
    private func finish(_ fd: Int32, _ status: stat) {
        fchmod(fd, status.st_mode & Self.keptModeBits)
        var times = [status.st_atim, status.st_mtim]
        futimens(fd, &times)
    }

    private func giveToOwner(_ parent: Int32, _ name: [UInt8]) {
        guard let owner, geteuid() == 0 else { return }
        _ = name.withCName { fchownat(parent, $0, owner.uid, owner.gid, AT_SYMLINK_NOFOLLOW) }
    }

    private func lstat(_ parent: Int32, _ name: [UInt8]) throws(FileOperationError) -> stat {
        var status = stat()
        guard name.withCName({ fstatat(parent, $0, &status, AT_SYMLINK_NOFOLLOW) }) == 0 else {
            throw FileOperationError.system(errno, path: displayPath, doing: "stat")
        }
        return status
    }

    private func push(_ name: [UInt8], _ stack: inout DirectoryStack) throws(FileOperationError) {
        do {
            try stack.push(name)
        } catch {
            throw Self.failure(error, displayPath)
        }
    }

    private func current(_ stack: inout DirectoryStack) throws(FileOperationError) -> Int32 {
        do {
            return try stack.current()
        } catch {
            throw Self.failure(error, displayPath)
        }
    }

    private static func failure(_ error: DirectoryStack.Failure, _ displayPath: String) -> FileOperationError {
        switch error {
        case .changed:
            FileOperationError(.refused, path: displayPath, message: "\(displayPath): changed while it was copied")
        case .system(let failure): failure
        }
    }
}
