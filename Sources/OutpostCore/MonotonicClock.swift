#if canImport(Glibc)
import Glibc
#endif

/// Seconds on a clock that never jumps (CLOCK_MONOTONIC), for intervals: throttling windows, progress rates, timings.
public enum MonotonicClock {
    public static func seconds() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }
}

extension Duration {
    /// The duration as seconds, for rates and budgets computed in floating point.
    public var inSeconds: Double {
        Double(components.seconds) + Double(components.attoseconds) * 1e-18
    }
}
