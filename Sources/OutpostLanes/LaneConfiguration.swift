#if canImport(Glibc)
import Glibc
#endif

/// `[lanes]`: how many lanes the node runs and what each may use. `setConfig` changes it at runtime.
public struct LaneConfiguration: Sendable, Equatable {
    /// Lanes running at once. Growing adds lanes at once; shrinking lets the removed lanes' tasks finish first.
    public var count: Int
    /// CPUs each lane's task may use (`OUTPOST_CPUS`, `OMP_NUM_THREADS`), and the multiplier of its benchmark.
    public var cpus: Int = 1
    /// Resident memory of one task's processes together; nil for no limit.
    public var memoryLimitBytes: Int64?
    /// Wall-clock seconds one task may run (paused time not counted), and its CPU-time rlimit; nil for no limit.
    public var maxRuntimeSeconds: Int64?
    /// Starts interrupted by outpostd restarts before a task is failed instead of started again.
    public var maxRestarts: Int = 3
    /// Reported tasks kept (state tree and task directory) for people to look at.
    public var finishedKept: Int = 100

    /// One lane per CPU core, each with one CPU.
    public init(count: Int = LaneConfiguration.onlineCPUs) {
        self.count = count
    }

    public static var onlineCPUs: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }
}

/// What a lane is told to do, Folding@home style: `fold` takes and runs tasks, `pause` stops its task (SIGSTOP) and
/// takes none, `finish` completes the task it runs and then pauses.
public enum LaneMode: String, Sendable, CaseIterable {
    case fold
    case pause
    case finish
}
