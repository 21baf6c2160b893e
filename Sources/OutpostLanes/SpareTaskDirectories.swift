import CLinuxShims
import OutpostCore
import OutpostFiles
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Emptied task directories kept for the next tasks: `<tasks>/.spare/<n>/`, each with an empty `slot/` inside.
///
/// A new task needs two directories (`<id>/` and `<id>/slot/`), and a pruned one gives two back. On ext4 without a
/// journal (this project's test machines) making them was the dearest step of a short task, because each new inode's
/// search skips every inode deleted in the last few seconds: two mkdirs and two rmdirs cost 160 µs a task here,
/// against 30 µs for renaming an emptied pair out and back in. A spare is reset before it is kept (contents removed;
/// mode, owner, and user and ACL extended attributes as a new directory has them), so a task never finds what an
/// earlier one left. A directory that cannot be emptied or reset is not kept, and the caller removes it as before.
public final class SpareTaskDirectories: Sendable {
    private struct Pool {
        var ready: [UInt64] = []
        var nextName: UInt64 = 0
    }

    private let tasksDirectory: String
    private let capacity: Int
    /// What `mkdir(…, 0777)` gives under this process's umask.
    private let directoryMode: mode_t
    private let pool = Mutex(Pool())

    private var spareDirectory: String { tasksDirectory + "/.spare" }
    private static let slotName = Array("slot".utf8)

    public init(tasksDirectory: String, capacity: Int) {
        self.tasksDirectory = tasksDirectory
        self.capacity = capacity
        directoryMode = 0o777 & ~Self.umask()
    }

    /// Removes whatever an earlier outpostd left among the spares and starts with none. Without a spare directory
    /// (it cannot be made), every task directory is made and removed as usual.
    public func clear() {
        let resolver = SandboxResolver(roots: .roots(["tasks": tasksDirectory]))
        if let path = try? SandboxPath("tasks:.spare") {
            try? FileMutations.remove(path, resolver: resolver, control: OperationControl())
        }
        _ = mkdir(spareDirectory, 0o700)
        pool.withLock { $0.ready.removeAll() }
    }

    /// Moves a spare into place as task `taskID`'s directory, which must not exist yet; false when there is none.
    public func take(as taskID: Int64) -> Bool {
        while let name = pool.withLock({ $0.ready.popLast() }) {
            if outpost_rename_noreplace(AT_FDCWD, "\(spareDirectory)/\(name)", AT_FDCWD, "\(tasksDirectory)/\(taskID)")
                == 0
            {
                return true
            }
            // Gone from the spare directory (removed by hand): try the next one. Anything else (the task's
            // directory exists, the tasks directory is unusable) would fail for every spare alike.
            guard errno == ENOENT else {
                pool.withLock { $0.ready.append(name) }
                return false
            }
        }
        return false
    }

    /// Empties and resets task `taskID`'s directory and keeps it as a spare. False when it is not kept (enough spares
    /// already, or it could not be emptied or reset): then it is still in place, for the caller to remove.
    public func keep(_ taskID: Int64) -> Bool {
        guard
            let name = pool.withLock({ pool -> UInt64? in
                guard pool.ready.count < capacity else { return nil }
                pool.nextName += 1
                return pool.nextName
            })
        else { return false }
        guard reset(taskID),
            outpost_rename_noreplace(AT_FDCWD, "\(tasksDirectory)/\(taskID)", AT_FDCWD, "\(spareDirectory)/\(name)")
                == 0
        else { return false }
        pool.withLock { $0.ready.append(name) }
        return true
    }

    /// Spares ready to take.
    public var count: Int { pool.withLock { $0.ready.count } }

    /// Empties `<id>/` but for `slot/`, empties `slot/`, and resets both. Neither is reached through a symlink: a
    /// task may have replaced either by one, and then nothing is kept.
    private func reset(_ taskID: Int64) -> Bool {
        let flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC
        let tasks = OwnedDescriptor(open(tasksDirectory, flags))
        guard tasks.raw >= 0 else { return false }
        let task = OwnedDescriptor(outpost_openat_beneath(tasks.raw, "\(taskID)", flags, 0, 0))
        guard task.raw >= 0 else { return false }
        let slot = OwnedDescriptor(outpost_openat_beneath(task.raw, "slot", flags, 0, 0))
        guard slot.raw >= 0 else { return false }
        let display = "\(tasksDirectory)/\(taskID)"
        do {
            try FileMutations.removeContents(
                of: task,
                keeping: [Self.slotName],
                displayPath: display,
                control: OperationControl()
            )
            try FileMutations.removeContents(of: slot, displayPath: display + "/slot", control: OperationControl())
        } catch {
            return false
        }
        return resetAttributes(task.raw) && resetAttributes(slot.raw)
    }

    /// Mode and owner as a new directory has them, and no user or ACL extended attributes (a default ACL would
    /// shape the next task's files). Security labels and trusted attributes are the system's and stay.
    private func resetAttributes(_ fd: Int32) -> Bool {
        var status = stat()
        guard fstat(fd, &status) == 0 else { return false }
        if status.st_uid != geteuid() || status.st_gid != getegid() {
            guard fchown(fd, geteuid(), getegid()) == 0 else { return false }
        }
        if status.st_mode & 0o7777 != directoryMode {
            guard fchmod(fd, directoryMode) == 0 else { return false }
        }
        var names = [CChar](repeating: 0, count: 4096)
        let length = outpost_list_attributes(fd, &names, UInt(names.count))
        if length < 0 { return errno == ENOTSUP }
        let listed = names[..<length].split(separator: 0).map {
            String(decoding: $0.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        for name in listed where name.hasPrefix("user.") || name.hasPrefix("system.posix_acl_") {
            guard outpost_remove_attribute(fd, name) == 0 else { return false }
        }
        return true
    }

    /// This process's umask, read without changing it (`umask(2)` can only set it, which would race other threads).
    private static func umask() -> mode_t {
        for line in SmallFile.lines("/proc/self/status") where line.hasPrefix("Umask:") {
            return mode_t(String(line.dropFirst("Umask:".count).filter { !$0.isWhitespace }), radix: 8) ?? 0o022
        }
        return 0o022
    }
}
