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
        try resolver.acting { () throws(FileOperationError) -> Void in
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
        try resolver.acting { () throws(FileOperationError) -> Void in
            let entry = try resolver.openParent(of: path)
            var remover = TreeRemover(control: control, displayPath: path.text)
            try remover.removeEntry(entry.parent, entry.name, relativeName: "")
            try remover.finish()
        }
    }

    /// Moves `source` to `destination` (both sandbox paths of the same caller). Across file systems the tree is copied
    /// to a temporary name beside the destination, renamed into place, and only then is the source removed; on any
    /// failure the copy is removed and the source is left as it was.
    /// - Parameter owner: who the copy belongs to when the daemon runs as root for another user (see `TreeCopier`).
    public static func move(
        _ source: SandboxPath,
        to destination: SandboxPath,
        resolver: SandboxResolver,
        control: OperationControl,
        owner: (uid: UInt32, gid: UInt32)? = nil
    ) throws(FileOperationError) {
        try resolver.acting { () throws(FileOperationError) -> Void in
            let sourceEntry = try resolver.openParent(of: source)
            let destinationEntry = try resolver.openParent(of: destination)
            try moveEntry(
                sourceEntry,
                source: source,
                to: destinationEntry,
                destination: destination,
                control: control,
                owner: owner
            )
        }
    }

    private static func moveEntry(
        _ sourceEntry: borrowing DirectoryEntryHandle,
        source: SandboxPath,
        to destinationEntry: borrowing DirectoryEntryHandle,
        destination: SandboxPath,
        control: OperationControl,
        owner: (uid: UInt32, gid: UInt32)?
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
        var copier = TreeCopier(control: control, displayPath: source.text, owner: owner)
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
