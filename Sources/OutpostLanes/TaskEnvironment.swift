#if canImport(Glibc)
import Glibc
#endif

/// The environment a task starts with. Not the daemon's own: that holds systemd's `NOTIFY_SOCKET`, `WATCHDOG_*`,
/// `LISTEN_*`, `JOURNAL_STREAM` and `INVOCATION_ID`, which would let a task speak for the daemon. A task gets a
/// clean, predictable set (as HTCondor's `getenv = false`), then its own variables, then Outpost's, which it cannot
/// override:
///
/// - `PATH` (a fixed system path), `HOME` and `TMPDIR` (its slot directory), `LANG`/`LC_ALL`/`TZ` when the daemon
///   has them;
/// - `OUTPOST_TASK` (the marker that finds its processes), `OUTPOST_TASK_ID`, `OUTPOST_SLOT_DIR`,
///   `OUTPOST_PROGRESS_FILE` (write a fraction 0…1 there), `OUTPOST_CPUS`, and `OMP_NUM_THREADS` unless the task sets it.
enum TaskEnvironment {
    static let reservedPrefix = "OUTPOST_"

    static func make(
        specification: TaskSpecification,
        taskID: Int64,
        marker: String,
        slotDirectory: String,
        progressFile: String,
        cpus: Int
    ) -> [String: String] {
        var environment: [String: String] = [
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": slotDirectory,
            "TMPDIR": slotDirectory,
        ]
        for name in ["LANG", "LC_ALL", "TZ"] {
            if let value = getenv(name) { environment[name] = String(cString: value) }
        }
        for (key, value) in specification.environment where !key.hasPrefix(reservedPrefix) {
            environment[key] = value
        }
        if environment["OMP_NUM_THREADS"] == nil { environment["OMP_NUM_THREADS"] = "\(cpus)" }
        environment[ProcessTree.markerVariable] = marker
        environment["OUTPOST_TASK_ID"] = "\(taskID)"
        environment["OUTPOST_SLOT_DIR"] = slotDirectory
        environment["OUTPOST_PROGRESS_FILE"] = progressFile
        environment["OUTPOST_CPUS"] = "\(cpus)"
        return environment
    }
}
