import OutpostCore

#if canImport(Glibc)
import Glibc
#endif

/// One cgroup (v2) per lane, which its tasks run in one at a time, under the daemon's own cgroup, when outpostd may
/// create cgroups there: as root, or as a systemd service with `Delegate=yes`, which hands the service its cgroup
/// subtree.
///
/// A cgroup is what a task cannot leave by `setsid()` or by clearing its environment, so it finds every process the
/// task ever forked; listing it is one small read, where the session fallback scans all of `/proc`. The task joins
/// its cgroup before its first instruction (`outpost-launch` writes itself into `cgroup.procs`, then execs the task),
/// and `cgroup.kill` ends the whole tree at once, even one that forks while it is being ended.
///
/// A task ends only once its cgroup is empty, so the next task of the lane starts in an empty cgroup and what is in
/// there is its own. Should a process outlive that (stuck in the kernel, unkillable), the next task gets a cgroup of
/// its own instead.
///
/// Layout: `<the daemon's cgroup>/outpost-<node id>/lane-<lane id>` (and `task-<task id>` for a task that could not
/// use its lane's). The node id keeps two daemons in one cgroup apart, and stays the same across restarts, so a
/// restarted daemon finds a dead one's leftovers here.
public struct TaskCgroups: Sendable, Equatable {
    /// `<the daemon's cgroup>/outpost-<node id>`.
    public let directory: String

    public init(directory: String) {
        self.directory = directory
    }

    /// The task cgroups of this node, made ready, or why they cannot be used (the lanes then track by session).
    public static func discover(nodeID: String) -> Result<TaskCgroups, LaneError> {
        guard let own = ownCgroupDirectory() else {
            return .failure(LaneError("no cgroup v2 hierarchy is mounted (or this process is not in it)"))
        }
        // Moving a process between two cgroups needs write access to the common ancestor's cgroup.procs.
        guard access(own + "/cgroup.procs", W_OK) == 0 else {
            return .failure(
                LaneError.system("cannot move processes in \(own) (not root, and no Delegate=yes)", errno: errno)
            )
        }
        let directory = own + "/outpost-" + String(nodeID.map { $0 == "/" ? "_" : $0 })
        guard mkdir(directory, 0o755) == 0 || errno == EEXIST else {
            return .failure(LaneError.system("cannot create \(directory)", errno: errno))
        }
        return .success(TaskCgroups(directory: directory))
    }

    /// The cgroup directory of this process in the cgroup v2 hierarchy: its `0::` line of `/proc/self/cgroup`,
    /// under the mount point of the `cgroup2` file system from `/proc/self/mountinfo`.
    static func ownCgroupDirectory() -> String? {
        guard
            let line = SmallFile.lines("/proc/self/cgroup").first(where: { $0.hasPrefix("0::") }),
            let mount = cgroup2Mount()
        else { return nil }
        let path = String(line.dropFirst(3))
        guard mount.root == "/" || path == mount.root || path.hasPrefix(mount.root + "/") else { return nil }
        let relative = mount.root == "/" ? path : String(path.dropFirst(mount.root.count))
        return relative == "/" ? mount.point : mount.point + relative
    }

    /// The first `cgroup2` mount: its mount point, and the cgroup it shows as its root.
    private static func cgroup2Mount() -> (point: String, root: String)? {
        for line in SmallFile.lines("/proc/self/mountinfo", limit: 1 << 20) {
            // id parent major:minor root mount-point options [optional fields] - type source super-options
            let fields = line.split(separator: " ", omittingEmptySubsequences: false)
            guard let separator = fields.firstIndex(of: "-"), separator + 1 < fields.count, fields.count > 4,
                fields[separator + 1] == "cgroup2"
            else { continue }
            return (unescape(fields[4]), unescape(fields[3]))
        }
        return nil
    }

    /// mountinfo writes space, tab, newline and backslash as octal escapes (`\040`).
    private static func unescape(_ field: Substring) -> String {
        guard field.contains("\\") else { return String(field) }
        var bytes: [UInt8] = []
        var utf8 = Array(field.utf8)[...]
        while let byte = utf8.popFirst() {
            if byte == UInt8(ascii: "\\"), utf8.count >= 3,
                let value = UInt8(String(decoding: utf8.prefix(3), as: UTF8.self), radix: 8)
            {
                bytes.append(value)
                utf8 = utf8.dropFirst(3)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    // MARK: The cgroups tasks run in

    /// The cgroup lane `lane` runs its tasks in, one after another. Kept from task to task: making and removing a
    /// cgroup per task cost more than a whole short task's bookkeeping.
    public func path(lane: Int) -> String {
        "\(directory)/lane-\(lane)"
    }

    /// A task's own cgroup, for a task whose lane's cgroup still holds a process that would not die.
    public func path(taskID: Int64) -> String {
        "\(directory)/task-\(taskID)"
    }

    /// Makes the cgroup at `path` if it is not there yet, and returns its `cgroup.procs` file, for `outpost-launch`.
    func create(_ path: String) throws(LaneError) -> String {
        guard mkdir(path, 0o755) == 0 || errno == EEXIST else {
            throw LaneError.system("cannot create the task cgroup \(path)", errno: errno)
        }
        return path + "/cgroup.procs"
    }

    /// The live processes in the cgroup at `path`.
    public func members(_ path: String) -> [ProcessTree.Process] {
        Self.pids(in: path).compactMap { ProcessTree.process($0) }
    }

    /// Whether any process is in the cgroup at `path` (one small read, no look into `/proc`).
    func isOccupied(_ path: String) -> Bool {
        !Self.pids(in: path).isEmpty
    }

    /// Moves a process into the cgroup at `path` (when `outpost-launch` could not join it before the exec).
    public func add(_ pid: Int32, to path: String) {
        _ = Self.write("\(pid)", to: path + "/cgroup.procs")
    }

    /// Ends every process in the cgroup at `path` (SIGTERM, then `cgroup.kill` after `grace`); with `remove`, removes
    /// the cgroup too. Returns the processes it found at first.
    @discardableResult
    public func end(_ path: String, grace: Duration, remove: Bool) async -> [ProcessTree.Process] {
        let found = members(path)
        if !found.isEmpty {
            await ProcessTree.end(
                grace: grace,
                killAll: { killAll(path) },
                find: { members(path) }
            )
        }
        if remove { self.remove(path) }
        return found
    }

    /// SIGKILL to every process in the cgroup at `path` at once (`cgroup.kill`, Linux 5.14), or to each one listed
    /// on an older kernel.
    public func killAll(_ path: String) {
        if !Self.write("1", to: path + "/cgroup.kill") {
            for pid in Self.pids(in: path) { kill(pid, SIGKILL) }
        }
    }

    /// Removes the cgroup at `path` once it is empty (the kernel refuses while a process is in it).
    @discardableResult
    public func remove(_ path: String) -> Bool {
        rmdir(path) == 0 || errno == ENOENT
    }

    /// Every lane and task cgroup of this node: after a crash, where leftovers are looked for.
    public func groups() -> [String] {
        guard let handle = opendir(directory) else { return [] }
        defer { closedir(handle) }
        var names: [String] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name.hasPrefix("lane-") || name.hasPrefix("task-") { names.append(name) }
        }
        return names.sorted().map { "\(directory)/\($0)" }
    }

    /// Removes the (empty) lane and task cgroups and the node's directory, when outpostd stops with no task running.
    public func removeDirectory() {
        for group in groups() { remove(group) }
        rmdir(directory)
    }

    private static func pids(in cgroup: String) -> [Int32] {
        guard let bytes = SmallFile.read(cgroup + "/cgroup.procs", limit: 1 << 20) else { return [] }
        return bytes.split(separator: UInt8(ascii: "\n")).compactMap { Int32(String(decoding: $0, as: UTF8.self)) }
    }

    private static func write(_ text: String, to path: String) -> Bool {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        return Glibc.write(fd, bytes, bytes.count) == bytes.count
    }
}
