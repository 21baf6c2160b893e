import CLinuxShims

#if canImport(Glibc)
import Glibc
#endif

/// The directories from a walk's starting point down to where the walk is, for walks (`du`, `rm`, a move's copy)
/// that must go as deep as a tree goes without recursion and without one open descriptor per level.
///
/// Each level is known by its name in its parent and its identity (device and inode). Descriptors are held for the
/// first `pinnedLevels` levels and the deepest `windowLevels`; a level between them is closed when the walk goes
/// deeper, and opened again from the nearest held ancestor, name by name, when the walk comes back up to it. Every
/// reopening goes through `FileListing.openSubdirectory` (beneath its parent, no symlink followed), and a directory
/// whose identity changed meanwhile (moved, replaced) is reported as `changed`, never used. A walk of a tree 10,000
/// levels deep thus holds at most `pinnedLevels + windowLevels` descriptors, and reopens each level a bounded
/// number of times.
struct DirectoryStack: ~Copyable {
    struct Level {
        var name: [UInt8]
        var device: UInt64
        var inode: UInt64
        /// -1 while closed.
        var fd: Int32
    }

    enum Failure: Error {
        /// A directory on the way is no longer the one the walk went through.
        case changed
        case system(FileOperationError)
    }

    static let pinnedLevels = 8
    static let windowLevels = 120

    private(set) var levels: [Level] = []
    let displayPath: String

    /// Starts at `base` (its own descriptor is duplicated: the stack closes only what it opened).
    init(base: borrowing OwnedDescriptor, displayPath: String) throws(FileOperationError) {
        self.displayPath = displayPath
        let fd = fcntl(base.raw, F_DUPFD_CLOEXEC, 0)
        guard fd >= 0 else { throw FileOperationError.system(errno, path: displayPath, doing: "open directory") }
        var status = stat()
        fstat(fd, &status)
        levels.append(Level(name: [], device: UInt64(status.st_dev), inode: UInt64(status.st_ino), fd: fd))
    }

    deinit {
        for level in levels where level.fd >= 0 { close(level.fd) }
    }

    /// Levels below the base.
    var depth: Int { levels.count - 1 }

    /// The path from the base to the current directory, for messages.
    var relativePath: String {
        levels.dropFirst().map(\.name.displayName).joined(separator: "/")
    }

    /// Enters `name`, a subdirectory of the current directory. Throws what opening it threw (ELOOP or ENOTDIR when
    /// it is no longer a directory, ENOENT when it is gone) without changing the stack.
    mutating func push(_ name: [UInt8]) throws(Failure) {
        let parent = try descriptor(at: levels.count - 1)
        let opened: OwnedDescriptor
        do {
            opened = try FileListing.openSubdirectory(parentFD: parent, name, displayPath: displayPath)
        } catch {
            throw .system(error)
        }
        var status = stat()
        fstat(opened.raw, &status)
        let fd = opened.release()
        levels.append(Level(name: name, device: UInt64(status.st_dev), inode: UInt64(status.st_ino), fd: fd))
        closeOutsideWindow()
    }

    /// Leaves the current directory for its parent.
    mutating func pop() {
        let level = levels.removeLast()
        if level.fd >= 0 { close(level.fd) }
    }

    /// The current directory's descriptor, opened again if it was closed.
    mutating func current() throws(Failure) -> Int32 {
        try descriptor(at: levels.count - 1)
    }

    /// The current directory's name in its parent, and the parent's descriptor (for `unlinkat` of the directory).
    mutating func parentOfCurrent() throws(Failure) -> Int32 {
        try descriptor(at: levels.count - 2)
    }

    var currentName: [UInt8] { levels[levels.count - 1].name }

    private mutating func descriptor(at index: Int) throws(Failure) -> Int32 {
        if levels[index].fd >= 0 { return levels[index].fd }
        var held = index - 1
        while levels[held].fd < 0 { held -= 1 }  // level 0 is always held
        for level in (held + 1)...index {
            let opened: OwnedDescriptor
            do {
                opened = try FileListing.openSubdirectory(
                    parentFD: levels[level - 1].fd,
                    levels[level].name,
                    displayPath: displayPath
                )
            } catch {
                throw .changed
            }
            var status = stat()
            fstat(opened.raw, &status)
            guard UInt64(status.st_dev) == levels[level].device, UInt64(status.st_ino) == levels[level].inode else {
                throw .changed
            }
            levels[level].fd = opened.release()
        }
        closeOutsideWindow()
        return levels[index].fd
    }

    /// Closes held descriptors between the pinned levels and the window, keeping the total bounded.
    private mutating func closeOutsideWindow() {
        let windowStart = levels.count - Self.windowLevels
        guard windowStart > Self.pinnedLevels else { return }
        var index = windowStart - 1
        while index >= Self.pinnedLevels, levels[index].fd >= 0 {
            close(levels[index].fd)
            levels[index].fd = -1
            index -= 1
        }
    }
}
