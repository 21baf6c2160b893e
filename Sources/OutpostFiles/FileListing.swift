import CLinuxShims

#if canImport(Glibc)
import Glibc
#endif

/// `ls` and `du` inside a sandbox.
public enum FileListing {
    /// Lists a directory, or (with `directoryItself`) describes the path itself.
    public static func list(
        _ path: SandboxPath,
        directoryItself: Bool,
        resolver: SandboxResolver,
        caller: FileCaller,
        control: OperationControl
    ) throws(FileOperationError) -> [FileEntry] {
        try resolver.acting { () throws(FileOperationError) -> [FileEntry] in
            if directoryItself {
                return [try describe(path, resolver: resolver, caller: caller)]
            }
            let directory = try openDirectory(path, resolver: resolver)
            return try entries(of: directory, path: path, caller: caller, control: control)
        }
    }

    /// `list`, but only for a small directory: one whose size (as `stat` gives it) is at most
    /// `maximumDirectoryBytes`, a few hundred entries at most on the common file systems, and not on a network file
    /// system. Nil otherwise, and the listing is left to a worker thread. The control server lists small directories
    /// where the request arrives, with no hand-off: a listing of a hundred entries costs less than the hand-off.
    public static func listIfSmall(
        _ path: SandboxPath,
        resolver: SandboxResolver,
        caller: FileCaller,
        maximumDirectoryBytes: Int,
        control: OperationControl
    ) throws(FileOperationError) -> [FileEntry]? {
        try resolver.acting { () throws(FileOperationError) -> [FileEntry]? in
            let directory = try openDirectory(path, resolver: resolver)
            var status = stat()
            guard fstat(directory.raw, &status) == 0, status.st_size <= maximumDirectoryBytes,
                !isOnNetworkFileSystem(directory)
            else { return nil }
            return try entries(of: directory, path: path, caller: caller, control: control)
        }
    }

    /// NFS, SMB, FUSE, 9p, Ceph, AFS and the like: a stat there waits on a server, however small the directory, so
    /// its listings always go to a worker thread.
    static func isOnNetworkFileSystem(_ directory: borrowing OwnedDescriptor) -> Bool {
        let type = outpost_file_system_type(directory.raw)
        return type < 0 || networkFileSystemTypes.contains(Int(type))
    }

    private static let networkFileSystemTypes: Set<Int> = [
        0x6969,  // NFS
        0xFF53_4D42,  // CIFS
        0xFE53_4D42,  // SMB2
        0x517B,  // SMB
        0x6573_5546,  // FUSE
        0x0102_1997,  // 9P
        0x00C3_6400,  // Ceph
        0x5346_414F,  // AFS
        0x0BD0_0BD0,  // Lustre
        0x4750_4653,  // GPFS
    ]

    private static func openDirectory(
        _ path: SandboxPath,
        resolver: SandboxResolver
    ) throws(FileOperationError) -> OwnedDescriptor {
        let root = try resolver.openRoot(of: path)
        return try SandboxResolver.openBeneath(
            root,
            path.relative,
            flags: O_RDONLY | O_DIRECTORY,
            displayPath: path.text
        )
    }

    private static func entries(
        of directory: borrowing OwnedDescriptor,
        path: SandboxPath,
        caller: FileCaller,
        control: OperationControl
    ) throws(FileOperationError) -> [FileEntry] {
        var entries: [FileEntry] = []
        let fd = directory.raw
        try DirectoryReader.forEach(in: directory, path: path.text) { entry throws(FileOperationError) in
            try control.checkCancelled(path.text)
            var status = stat()
            // An entry removed between readdir and fstatat is simply gone.
            guard fstatat(fd, entry.cName, &status, AT_SYMLINK_NOFOLLOW) == 0 else { return }
            entries.append(FileEntry(name: FileName.text(entry.name), status: status, caller: caller))
            control.count()
        }
        return entries
    }

    /// The path itself, not following a final symlink.
    public static func describe(
        _ path: SandboxPath,
        resolver: SandboxResolver,
        caller: FileCaller
    ) throws(FileOperationError)
        -> FileEntry
    {
        try resolver.acting { () throws(FileOperationError) -> FileEntry in
            var status = stat()
            if path.relative.split(separator: "/").isEmpty {
                let root = try resolver.openRoot(of: path)
                guard fstatat(root.raw, "", &status, outpost_at_empty_path) == 0 else {
                    throw FileOperationError.system(errno, path: path.text, doing: "stat")
                }
                return FileEntry(name: path.rootName, status: status, caller: caller)
            }
            let entry = try resolver.openParent(of: path)
            guard entry.name.withCName({ fstatat(entry.parent.raw, $0, &status, AT_SYMLINK_NOFOLLOW) }) == 0 else {
                throw FileOperationError.system(errno, path: path.text, doing: "stat")
            }
            return FileEntry(name: entry.name.displayName, status: status, caller: caller)
        }
    }

    /// Apparent size in bytes of the regular files under `path`: symlinks are not followed, and a file with several
    /// hard links inside the tree is counted once (as `du -sb` does).
    public static func diskUsage(
        _ path: SandboxPath,
        resolver: SandboxResolver,
        control: OperationControl
    )
        throws(FileOperationError) -> Int64
    {
        try resolver.acting { () throws(FileOperationError) -> Int64 in
            let root = try resolver.openRoot(of: path)
            let directory: OwnedDescriptor
            if path.relative.split(separator: "/").isEmpty {
                directory = try SandboxResolver.openBeneath(
                    root,
                    "",
                    flags: O_RDONLY | O_DIRECTORY,
                    displayPath: path.text
                )
            } else {
                let entry = try resolver.openParent(of: path)
                var status = stat()
                guard entry.name.withCName({ fstatat(entry.parent.raw, $0, &status, AT_SYMLINK_NOFOLLOW) }) == 0 else {
                    throw FileOperationError.system(errno, path: path.text, doing: "stat")
                }
                guard (status.st_mode & S_IFMT) == S_IFDIR else {
                    return (status.st_mode & S_IFMT) == S_IFREG ? Int64(status.st_size) : 0
                }
                directory = try openSubdirectory(entry.parent, entry.name, displayPath: path.text)
            }
            var walker = UsageWalker(control: control, displayPath: path.text)
            try walker.walk(directory)
            return walker.total
        }
    }

    /// Opens a directory entry of `parent` as a directory, refusing symlinks even inside the sandbox: a walk that
    /// does not follow symlinks must not be redirected by one swapped in after the entry was read.
    static func openSubdirectory(
        _ parent: borrowing OwnedDescriptor,
        _ name: [UInt8],
        displayPath: String
    )
        throws(FileOperationError) -> OwnedDescriptor
    {
        try openSubdirectory(parentFD: parent.raw, name, displayPath: displayPath)
    }

    static func openSubdirectory(
        parentFD parent: Int32,
        _ name: [UInt8],
        displayPath: String
    )
        throws(FileOperationError) -> OwnedDescriptor
    {
        let fd = name.withCName {
            outpost_openat_beneath(parent, $0, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0, outpost_resolve_no_symlinks)
        }
        guard fd >= 0 else { throw FileOperationError.system(errno, path: displayPath, doing: "open directory") }
        return OwnedDescriptor(fd)
    }
}

/// The state of one `du` walk: the running total and the hard-linked files already counted.
struct UsageWalker {
    let control: OperationControl
    let displayPath: String
    var total: Int64 = 0
    private var seenLinks: Set<HardLinkKey> = []

    init(control: OperationControl, displayPath: String) {
        self.control = control
        self.displayPath = displayPath
    }

    struct HardLinkKey: Hashable {
        var device: UInt64
        var inode: UInt64
    }

    /// Adds up the tree under `directory`, depth first, without recursion (`DirectoryStack`): a tree as deep as a
    /// user can make one costs neither the thread's stack nor a descriptor per level.
    mutating func walk(_ directory: borrowing OwnedDescriptor) throws(FileOperationError) {
        var stack = try DirectoryStack(base: directory, displayPath: displayPath)
        // The subdirectories still to visit, one list per level of `stack`.
        var pending: [[[UInt8]]] = [try scan(try descriptor(&stack))]
        while !pending.isEmpty {
            guard let name = pending[pending.count - 1].popLast() else {
                pending.removeLast()
                if stack.depth > 0 { stack.pop() }
                continue
            }
            do {
                try stack.push(name)
            } catch {
                // A directory replaced (by a symlink, or removed) since it was read is skipped, never followed.
                try control.checkCancelled(displayPath)
                continue
            }
            do {
                pending.append(try scan(try descriptor(&stack)))
            } catch {
                // Gone or moved while we counted: what is left of it is not in the tree any more.
                if error.code == .cancelled { throw error }
                stack.pop()
            }
        }
    }

    private func descriptor(_ stack: inout DirectoryStack) throws(FileOperationError) -> Int32 {
        do {
            return try stack.current()
        } catch {
            switch error {
            case .changed:
                throw FileOperationError(
                    .notFound,
                    path: displayPath,
                    message: "\(displayPath): changed during the walk"
                )
            case .system(let failure): throw failure
            }
        }
    }

    /// Counts the files of one directory and returns its subdirectories.
    private mutating func scan(_ fd: Int32) throws(FileOperationError) -> [[UInt8]] {
        var subdirectories: [[UInt8]] = []
        try DirectoryReader.forEach(in: fd, path: displayPath) { entry throws(FileOperationError) in
            try control.checkCancelled(displayPath)
            control.count()
            if entry.type == UInt8(DT_DIR) {
                subdirectories.append(entry.bytes)
                return
            }
            if entry.type == UInt8(DT_LNK) { return }
            var status = stat()
            guard fstatat(fd, entry.cName, &status, AT_SYMLINK_NOFOLLOW) == 0 else { return }
            switch status.st_mode & S_IFMT {
            case S_IFREG:
                if status.st_nlink > 1 {
                    let key = HardLinkKey(device: UInt64(status.st_dev), inode: UInt64(status.st_ino))
                    guard seenLinks.insert(key).inserted else { return }
                }
                total += Int64(status.st_size)
            case S_IFDIR:
                subdirectories.append(entry.bytes)
            default:
                break
            }
        }
        return subdirectories
    }
}
