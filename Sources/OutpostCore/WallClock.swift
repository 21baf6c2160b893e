#if canImport(Glibc)
import Glibc
#endif

/// The wall clock as seconds since 1970, the form timestamps take in Outpost's state, databases and APIs.
public enum WallClock {
    public static func seconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}
