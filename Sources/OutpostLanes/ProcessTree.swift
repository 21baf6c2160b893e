import OutpostCore

#if canImport(Glibc)
import Glibc
#endif

/// Finds and ends every process that belongs to a task, from `/proc`.
///
/// A task's processes are those in its session (the task leads a new one), plus any that carry its marker variable
/// in their environment (`OUTPOST_TASK=<node id>/<task id>`): a grandchild that called `setsid()` has left the
/// session but kept its environment. The marker includes the node id, so two daemons on one machine never touch each
/// other's tasks, and it survives the daemon: after `kill -9` the restarted daemon finds a dead one's leftovers by it.
public enum ProcessTree {
    /// One process as `/proc/PID/stat` shows it.
    public struct Process: Sendable, Equatable {
        public var pid: Int32
        public var session: Int32
        public var startTicks: Int64
        /// Resident set size in bytes.
        public var residentBytes: Int64
    }

    /// The environment marker for a task.
    public static func marker(nodeID: String, taskID: Int64) -> String {
        "\(nodeID)/\(taskID)"
    }

    public static let markerVariable = "OUTPOST_TASK"

    /// Every process of the task (session `session`, when given, or carrying `marker`), excluding this process.
    /// - Parameter notBefore: the task leader's start time: an older process cannot descend from it, so its
    ///   environment is not read (reading every process's environment is what makes a scan slow).
    public static func members(session: Int32?, marker: String?, notBefore: Int64 = 0) -> [Process] {
        let markerEntry = marker.map { Array("\(markerVariable)=\($0)".utf8) }
        let me = getpid()
        var found: [Process] = []
        forEachProcess { process in
            guard process.pid != me else { return }
            if let session, process.session == session {
                found.append(process)
                return
            }
            if let markerEntry, process.startTicks >= notBefore,
                environment(of: process.pid, hasEntry: { $0.elementsEqual(markerEntry) })
            {
                found.append(process)
            }
        }
        return found
    }

    /// The resident memory of every process in `session`, together. Reads only `stat` files: cheap enough for every
    /// check, at the price of not counting a grandchild that left the session (it is still ended with the task).
    public static func residentBytes(session: Int32?) -> Int64 {
        guard let session else { return 0 }
        var total: Int64 = 0
        forEachProcess { process in
            if process.session == session { total += process.residentBytes }
        }
        return total
    }

    /// Every process carrying any marker of this node: what a restarted daemon must end before it starts anything.
    public static func strays(nodeID: String) -> [Process] {
        let prefix = Array("\(markerVariable)=\(nodeID)/".utf8)
        let me = getpid()
        var found: [Process] = []
        forEachProcess { process in
            guard process.pid != me else { return }
            if environment(of: process.pid, hasEntry: { $0.starts(with: prefix) }) { found.append(process) }
        }
        return found
    }

    /// Reads one process's stat line, or nil if it is gone.
    public static func process(_ pid: Int32) -> Process? {
        guard let text = SmallFile.read("/proc/\(pid)/stat") else { return nil }
        return parseStat(text, pid: pid)
    }

    /// Sends `signal` to each process (skipping any whose start time no longer matches: a recycled pid).
    public static func signal(_ processes: [Process], _ signal: Int32) {
        for process in processes {
            guard let current = self.process(process.pid), current.startTicks == process.startTicks else { continue }
            kill(process.pid, signal)
        }
    }

    /// SIGTERM to every process of the task, then SIGKILL to whatever is left after `grace`, repeated until none is
    /// left: processes may fork while being ended. Stopped processes get SIGCONT too, so SIGTERM reaches them.
    public static func end(session: Int32?, marker: String?, notBefore: Int64 = 0, grace: Duration) async {
        await end(grace: grace) { members(session: session, marker: marker, notBefore: notBefore) }
    }

    /// The same for every process `find` returns, each time it is asked. `killAll`, when given, replaces the
    /// SIGKILL to each process found (a cgroup's `cgroup.kill` reaches processes forked since the last look too).
    public static func end(
        grace: Duration,
        killAll: (@Sendable () -> Void)? = nil,
        find: @Sendable () -> [Process]
    ) async {
        var found = find()
        guard !found.isEmpty else { return }
        signal(found, SIGTERM)
        signal(found, SIGCONT)
        let deadline = ContinuousClock.now + grace
        while ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
            found = find()
            if found.isEmpty { return }
        }
        for _ in 0..<250 {
            found = find()
            if found.isEmpty { return }
            if let killAll { killAll() } else { signal(found, SIGKILL) }
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    // MARK: /proc

    private static func forEachProcess(_ body: (Process) -> Void) {
        guard let directory = opendir("/proc") else { return }
        defer { closedir(directory) }
        while let entry = readdir(directory) {
            let pid: Int32? = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                var value: Int32 = 0
                for byte in raw {
                    if byte == 0 { break }
                    guard byte >= 48, byte <= 57 else { return nil }
                    value = value * 10 + Int32(byte - 48)
                }
                return value > 0 ? value : nil
            }
            guard let pid, let process = process(pid) else { continue }
            // Zombies have released everything; their parent (maybe us) reaps them.
            body(process)
        }
    }

    /// Fields after the command name, which is in parentheses and may itself contain spaces and parentheses.
    static func parseStat(_ text: [UInt8], pid: Int32) -> Process? {
        guard let close = text.lastIndex(of: UInt8(ascii: ")")) else { return nil }
        let fields = text[(close + 1)...].split(separator: UInt8(ascii: " "))
        // fields[0] is the state (field 3); session is field 6, start time field 22, rss (pages) field 24.
        guard fields.count > 21, fields[0].first != UInt8(ascii: "Z"),
            let session = Int32(String(decoding: fields[3], as: UTF8.self)),
            let start = Int64(String(decoding: fields[19], as: UTF8.self)),
            let rssPages = Int64(String(decoding: fields[21], as: UTF8.self))
        else { return nil }
        return Process(pid: pid, session: session, startTicks: start, residentBytes: rssPages * pageSize)
    }

    private static let pageSize = Int64(sysconf(Int32(_SC_PAGESIZE)))

    /// Whether one of the process's environment entries (`NAME=value`) satisfies `matches`.
    private static func environment(of pid: Int32, hasEntry matches: (ArraySlice<UInt8>) -> Bool) -> Bool {
        guard let environment = SmallFile.read("/proc/\(pid)/environ", limit: 1 << 20) else { return false }
        return environment.split(separator: 0).contains(where: matches)
    }
}
