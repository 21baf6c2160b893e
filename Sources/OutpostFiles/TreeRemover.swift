#if canImport(Glibc)
import Glibc
#endif

/// A removal of a tree that never follows a symlink and keeps going past entries it cannot remove.
///
/// It walks without recursion through a `DirectoryStack`, so a tree as deep as a user can make one (10,000 levels
/// and more) costs neither the thread's stack nor a descriptor per level.
struct TreeRemover {
    let control: OperationControl
    let displayPath: String
    private(set) var failures: [String] = []
    /// How the directory being removed is named in messages ("" for the path the caller gave).
    private var topName = ""

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
        } else if let reason = unlink(parent.raw, name, flags: 0) {
            failures.append("\(relativeName.isEmpty ? displayPath : relativeName): \(reason)")
        }
    }

    // Paths for messages are made only when there is a failure to report: building one for every entry of a deep
    // tree would cost time quadratic in its depth.

    /// Empties and removes one directory, depth first: each directory's files go when it is read, its
    /// subdirectories one by one, and the directory itself once they are gone.
    private mutating func removeDirectory(
        _ parent: borrowing OwnedDescriptor,
        _ name: [UInt8],
        relativeName: String
    )
        throws(FileOperationError)
    {
        topName = relativeName
        var stack = try DirectoryStack(base: parent, displayPath: displayPath)
        // The subdirectories still to remove, one list per level below the base.
        var pending: [[[UInt8]]] = []
        if try enter(&stack, name) {  // (its type was just read: only a race fails)
            pending.append(try clear(&stack))
        }
        while !pending.isEmpty {
            if let next = pending[pending.count - 1].popLast() {
                try control.checkCancelled(displayPath)
                if try enter(&stack, next) {
                    pending.append(try clear(&stack))
                }
                continue
            }
            pending.removeLast()
            let directoryName = stack.currentName
            do {
                let parentFD = try stack.parentOfCurrent()
                stack.pop()
                if let reason = unlink(parentFD, directoryName, flags: AT_REMOVEDIR) {
                    failures.append("\(relative(stack, directoryName)): \(reason)")
                }
            } catch {
                failures.append("\(relative(stack)): \(Self.describe(error))")
                stack.pop()
            }
        }
    }

    /// Steps into `name`; false (with the entry dealt with) when it is not a directory to descend into.
    private mutating func enter(_ stack: inout DirectoryStack, _ name: [UInt8]) throws(FileOperationError) -> Bool {
        do {
            try stack.push(name)
            return true
        } catch {
            var reason: String?
            if case .system(let failure) = error {
                switch failure.errno {
                case ELOOP, ENOTDIR:
                    // Not a directory (an entry of unknown type), or replaced by a symlink or file since it was
                    // read: remove that entry instead, never following it.
                    if let parentFD = try? stack.current() { reason = unlink(parentFD, name, flags: 0) }
                case ENOENT:
                    break  // Someone else removed it: the goal is met.
                default:
                    reason = failure.message
                }
            } else {
                reason = Self.describe(error)
            }
            if let reason { failures.append("\(relative(stack, name)): \(reason)") }
            return false
        }
    }

    /// Removes every entry of the current directory that is not a directory; returns the names of the
    /// subdirectories (and of entries whose type the file system does not tell).
    private mutating func clear(_ stack: inout DirectoryStack) throws(FileOperationError) -> [[UInt8]] {
        let fd: Int32
        do {
            fd = try stack.current()
        } catch {
            failures.append("\(relative(stack)): \(Self.describe(error))")
            return []
        }
        var subdirectories: [[UInt8]] = []
        var files: [[UInt8]] = []
        try DirectoryReader.forEach(in: fd, path: displayPath) { entry in
            if entry.type == UInt8(DT_DIR) || entry.type == UInt8(DT_UNKNOWN) {
                subdirectories.append(entry.bytes)
            } else {
                files.append(entry.bytes)
            }
        }
        for file in files {
            try control.checkCancelled(displayPath)
            if let reason = unlink(fd, file, flags: 0) { failures.append("\(relative(stack, file)): \(reason)") }
        }
        return subdirectories
    }

    /// Removes one entry; nil when it is gone (by us or by someone else), else why not.
    private func unlink(_ parent: Int32, _ name: [UInt8], flags: Int32) -> String? {
        guard name.withCName({ unlinkat(parent, $0, flags) }) != 0 else {
            control.count()
            return nil
        }
        if errno == ENOENT { return nil }  // Someone else removed it: the goal is met.
        if errno == ENOTDIR && flags == AT_REMOVEDIR {
            // The directory we emptied was swapped for a link or file meanwhile: remove that, never following it.
            return unlink(parent, name, flags: 0)
        }
        return String(cString: strerror(errno))
    }

    /// The current directory's path relative to where the removal started (and `name` in it, if given); the
    /// directory being removed itself is "" when it is the path the caller gave (messages then show that path).
    private func relative(_ stack: borrowing DirectoryStack, _ name: [UInt8]? = nil) -> String {
        var path = topName
        for level in stack.levels.dropFirst(2) { path = join(path, level.name) }
        if let name, stack.levels.count > 1 { path = join(path, name) }
        if path.isEmpty { path = displayPath }
        return path
    }

    private func join(_ base: String, _ name: [UInt8]) -> String {
        base.isEmpty ? name.displayName : base + "/" + name.displayName
    }

    private static func describe(_ error: DirectoryStack.Failure) -> String {
        switch error {
        case .changed: "moved or replaced during the removal"
        case .system(let failure): failure.message
        }
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
