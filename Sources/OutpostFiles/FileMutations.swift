import CLinuxShims

#if canImport(Glibc)
import Glibc
#endif

/// `mkdir`, `rm` and `mv` inside a sandbox, each through directory fds opened beneath the sandbox root.
public enum FileMutations {
    /// Creates `path` and any missing parents; an existing directory is not an error.
    /// - Parameter owner: who the new directories belong to when the daemon runs as root for another user (else the
    ///   caller would find root's directories in their own sandbox).
    public static func makeDirectory(
        _ path: SandboxPath,
        resolver: SandboxResolver,
        owner: (uid: UInt32, gid: UInt32)? = nil
    ) throws(FileOperationError) {
        let root = try resolver.openRoot(of: path)
        var prefix: [String] = []
        for component in path.relative.split(separator: "/").map(String.init) {
            let parent = try SandboxResolver.openBeneath(
                root,
                prefix.joined(separator: "/"),
                flags: outpost_o_path | O_DIRECTORY,
                displayPath: path.text
            )
            prefix.append(component)
            let created = FileName.bytes(component).withCName { mkdirat(parent.raw, $0, 0o777) } == 0
            if !created && errno != EEXIST {
                throw FileOperationError.system(errno, path: path.text, doing: "mkdir")
            }
            if created, let owner, geteuid() == 0 {
                _ = FileName.bytes(component).withCName {
                    fchownat(parent.raw, $0, owner.uid, owner.gid, AT_SYMLINK_NOFOLLOW)
                }
            }
        }
        // The result must be a directory beneath the root (an existing file or an escaping symlink is an error).
        _ = try SandboxResolver.openBeneath(
            root,
            path.relative,
            flags: outpost_o_path | O_DIRECTORY,
            displayPath: path.text
        )
    }

    /// Removes everything in an open directory but the entries named in `kept`, leaving the directory itself: how a
    /// task directory is emptied for reuse. Like `remove`, it never follows a symlink and keeps going past entries it
    /// cannot remove, which it reports in one error at the end.
    public static func removeContents(
        of directory: borrowing OwnedDescriptor,
        keeping kept: Set<[UInt8]> = [],
        displayPath: String,
        control: OperationControl
    ) throws(FileOperationError) {
        var names: [[UInt8]] = []
        try DirectoryReader.forEach(in: directory, path: displayPath) { entry in
            let name = entry.bytes
            if !kept.contains(name) { names.append(name) }
        }
        var remover = TreeRemover(control: control, displayPath: displayPath)
        for name in names {
            try remover.removeEntry(directory, name, relativeName: name.displayName)
        }
        try remover.finish()
    }

    /// Removes `path`, recursively for a directory. Symlinks are removed, never followed; a sandbox root is refused.
    /// Everything that can be removed is; what could not be is reported in one error at the end.
    public static func remove(
        _ path: SandboxPath,
        resolver: SandboxResolver,
        control: OperationControl
    )
        throws(FileOperationError)
    {
        let entry = try resolver.openParent(of: path)
        var remover = TreeRemover(control: control, displayPath: path.text)
        try remover.removeEntry(entry.parent, entry.name, relativeName: "")
        try remover.finish()
    }

    /// Moves `source` to `destination` (both sandbox paths of the same caller). Across file systems the tree is copied
    /// to a temporary name beside the destination, renamed into place, and only then is the source removed; on any
    /// failure the copy is removed and the source is left as it was.
    public static func move(
        _ source: SandboxPath,
        to destination: SandboxPath,
        resolver: SandboxResolver,
        control: OperationControl
    ) throws(FileOperationError) {
        let sourceEntry = try resolver.openParent(of: source)
        let destinationEntry = try resolver.openParent(of: destination)
        try moveEntry(sourceEntry, source: source, to: destinationEntry, destination: destination, control: control)
    }

    private static func moveEntry(
        _ sourceEntry: borrowing DirectoryEntryHandle,
        source: SandboxPath,
        to destinationEntry: borrowing DirectoryEntryHandle,
        destination: SandboxPath,
        control: OperationControl
    ) throws(FileOperationError) {
        let sourceParent = sourceEntry.parent.raw
        let destinationParent = destinationEntry.parent.raw
        let sourceName = sourceEntry.name
        let destinationName = destinationEntry.name
        let renamed = sourceName.withCName { source in
            destinationName.withCName { renameat(sourceParent, source, destinationParent, $0) }
        }
        if renamed == 0 { return }
        let error = errno
        guard error == EXDEV else {
            if error == EINVAL {
                throw FileOperationError(
                    .refused,
                    path: source.text,
                    message: "cannot move \(source.text) into itself (\(destination.text))"
                )
            }
            throw FileOperationError.system(error, path: source.text, doing: "move to \(destination.text)")
        }
        let temporaryName = ".outpost-move-\(UInt64.random(in: 0...UInt64.max))"
        var copier = TreeCopier(control: control, displayPath: source.text)
        do throws(FileOperationError) {
            try copier.copyEntry(
                from: sourceEntry.parent,
                sourceName,
                to: destinationEntry.parent,
                Array(temporaryName.utf8)
            )
            let placed = destinationName.withCName { renameat(destinationParent, temporaryName, destinationParent, $0) }
            guard placed == 0 else {
                throw FileOperationError.system(errno, path: destination.text, doing: "rename the copy into place")
            }
        } catch {
            var cleanup = TreeRemover(control: OperationControl(), displayPath: destination.text)
            try? cleanup.removeEntry(destinationEntry.parent, Array(temporaryName.utf8), relativeName: temporaryName)
            throw error
        }
        var remover = TreeRemover(control: OperationControl(), displayPath: source.text)
        try remover.removeEntry(sourceEntry.parent, sourceName, relativeName: "")
        try remover.finish()
    }
}

/// A recursive removal that never follows a symlink and keeps going past entries it cannot remove.
struct TreeRemover {
    let control: OperationControl
    let displayPath: String
    private(set) var failures: [String] = []

    init(control: OperationControl, displayPath: String) {
        self.control = control
        self.displayPath = displayPath
    }

    mutating func removeEntry(
        _ parent: borrowing OwnedDescriptor,
        _ name: [UInt8],
        relativeName: String
    )
        throws(FileOperationError)
    {
        try control.checkCancelled(displayPath)
        var status = stat()
        guard name.withCName({ fstatat(parent.raw, $0, &status, AT_SYMLINK_NOFOLLOW) }) == 0 else {
            if errno == ENOENT { return }  // Gone already (removed or moved away by someone else): the goal is met.
            throw FileOperationError.system(errno, path: displayPath, doing: "stat")
        }
        if (status.st_mode & S_IFMT) == S_IFDIR {
            try removeDirectory(parent, name, relativeName: relativeName)
        } else {
            unlink(parent, name, flags: 0, relativeName: relativeName)
        }
    }

    private mutating func removeDirectory(
        _ parent: borrowing OwnedDescriptor,
        _ name: [UInt8],
        relativeName: String
    )
        throws(FileOperationError)
    {
        let directory: OwnedDescriptor
        do {
            directory = try FileListing.openSubdirectory(parent, name, displayPath: displayPath)
        } catch {
            // Replaced by a symlink or a file since it was looked at: remove that entry instead, without following it.
            if error.errno == ELOOP || error.errno == ENOTDIR {
                unlink(parent, name, flags: 0, relativeName: relativeName)
            } else {
                failures.append("\(relativeName): \(error.message)")
            }
            return
        }
        var subdirectories: [[UInt8]] = []
        var files: [[UInt8]] = []
        try DirectoryReader.forEach(in: directory, path: displayPath) { entry in
            if entry.type == UInt8(DT_DIR) || entry.type == UInt8(DT_UNKNOWN) {
                subdirectories.append(entry.bytes)
            } else {
                files.append(entry.bytes)
            }
        }
        for file in files {
            try control.checkCancelled(displayPath)
            unlink(directory, file, flags: 0, relativeName: join(relativeName, file))
        }
        for subdirectory in subdirectories {
            try removeEntry(directory, subdirectory, relativeName: join(relativeName, subdirectory))
        }
        unlink(parent, name, flags: AT_REMOVEDIR, relativeName: relativeName)
    }

    private mutating func unlink(
        _ parent: borrowing OwnedDescriptor,
        _ name: [UInt8],
        flags: Int32,
        relativeName: String
    ) {
        guard name.withCName({ unlinkat(parent.raw, $0, flags) }) != 0 else {
            control.count()
            return
        }
        if errno == ENOENT { return }  // Someone else removed it: the goal is met.
        if errno == ENOTDIR && flags == AT_REMOVEDIR {
            // The directory we emptied was swapped for a link or file meanwhile: remove that, never following it.
            return unlink(parent, name, flags: 0, relativeName: relativeName)
        }
        failures.append("\(relativeName.isEmpty ? displayPath : relativeName): \(String(cString: strerror(errno)))")
    }

    private func join(_ base: String, _ name: [UInt8]) -> String {
        base.isEmpty ? name.displayName : base + "/" + name.displayName
    }

    /// Throws the collected failures, if any, as one error that lists the first few.
    func finish() throws(FileOperationError) {
        guard !failures.isEmpty else { return }
        let shown = failures.prefix(5).joined(separator: "; ")
        let more = failures.count > 5 ? " and \(failures.count - 5) more" : ""
        throw FileOperationError(
            .system,
            path: displayPath,
            message: "\(displayPath): could not remove \(failures.count) entries: \(shown)\(more)"
        )
    }
}

/// A recursive copy (files, directories, symlinks, with modes and modification times) used when a move crosses
/// file systems.
struct TreeCopier {
    let control: OperationControl
    let displayPath: String

    mutating func copyEntry(
        from sourceParent: borrowing OwnedDescriptor,
        _ sourceName: [UInt8],
        to destinationParent: borrowing OwnedDescriptor,
        _ destinationName: [UInt8]
    ) throws(FileOperationError) {
        try control.checkCancelled(displayPath)
        var status = stat()
        guard sourceName.withCName({ fstatat(sourceParent.raw, $0, &status, AT_SYMLINK_NOFOLLOW) }) == 0 else {
            throw FileOperationError.system(errno, path: displayPath, doing: "stat")
        }
        switch status.st_mode & S_IFMT {
        case S_IFDIR:
            guard destinationName.withCName({ mkdirat(destinationParent.raw, $0, 0o700) }) == 0 else {
                throw FileOperationError.system(errno, path: displayPath, doing: "create directory at the destination")
            }
            let source = try FileListing.openSubdirectory(sourceParent, sourceName, displayPath: displayPath)
            let destination = try FileListing.openSubdirectory(
                destinationParent,
                destinationName,
                displayPath: displayPath
            )
            var names: [[UInt8]] = []
            try DirectoryReader.forEach(in: source, path: displayPath) { entry in names.append(entry.bytes) }
            for name in names {
                try copyEntry(from: source, name, to: destination, name)
            }
            fchmod(destination.raw, status.st_mode & 0o7777)
            var times = [status.st_atim, status.st_mtim]
            futimens(destination.raw, &times)
        case S_IFLNK:
            var target = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let length = sourceName.withCName { readlinkat(sourceParent.raw, $0, &target, target.count - 1) }
            guard length >= 0 else { throw FileOperationError.system(errno, path: displayPath, doing: "read symlink") }
            target[length] = 0
            guard destinationName.withCName({ symlinkat(target, destinationParent.raw, $0) }) == 0 else {
                throw FileOperationError.system(errno, path: displayPath, doing: "create symlink at the destination")
            }
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
        from sourceParent: borrowing OwnedDescriptor,
        _ sourceName: [UInt8],
        to destinationParent: borrowing OwnedDescriptor,
        _ destinationName: [UInt8],
        status: stat
    ) throws(FileOperationError) {
        let input = sourceName.withCName {
            outpost_openat_beneath(sourceParent.raw, $0, O_RDONLY | O_NOFOLLOW, 0, outpost_resolve_no_symlinks)
        }
        guard input >= 0 else { throw FileOperationError.system(errno, path: displayPath, doing: "open for copying") }
        let source = OwnedDescriptor(input)
        let output = destinationName.withCName {
            openat(destinationParent.raw, $0, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        }
        guard output >= 0 else {
            throw FileOperationError.system(errno, path: displayPath, doing: "create the copy")
        }
        let destination = OwnedDescriptor(output)
        var remaining = Int(status.st_size)
        while remaining > 0 {
            try control.checkCancelled(displayPath)
            let copied = outpost_copy_file_range(source.raw, destination.raw, UInt(min(remaining, 1 << 26)))
            if copied < 0 {
                if errno == EINTR { continue }
                throw FileOperationError.system(errno, path: displayPath, doing: "copy")
            }
            if copied == 0 { break }  // The source shrank while we copied.
            remaining -= copied
        }
        guard fsync(destination.raw) == 0 else {
            throw FileOperationError.system(errno, path: displayPath, doing: "flush the copy")
        }
        fchmod(destination.raw, status.st_mode & 0o7777)
        var times = [status.st_atim, status.st_mtim]
        futimens(destination.raw, &times)
    }
}
