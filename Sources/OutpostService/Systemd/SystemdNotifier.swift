import CSystemd

#if canImport(Glibc)
import Glibc
#endif

/// Tells the service manager about the daemon's state through `sd_notify`: `READY=1`, `RELOADING=1`, `STOPPING=1`,
/// `WATCHDOG=1` and human-readable `STATUS=` lines. Without `NOTIFY_SOCKET` (a plain foreground run) every call is a
/// cheap no-op inside libsystemd, so the daemon behaves the same with or without systemd.
public struct SystemdNotifier: Sendable {
    public init() {}

    /// Sends newline-separated `KEY=value` assignments in one datagram.
    public func notify(_ assignments: String...) {
        let message = assignments.joined(separator: "\n")
        _ = sd_notify(0, message)
    }

    public func ready(status: String) {
        notify("READY=1", "STATUS=\(status)")
    }

    /// `RELOADING=1` carries the monotonic time, as systemd 253's notify-reload protocol requires (older ones ignore it).
    public func reloading() {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let microseconds = UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1_000
        notify("RELOADING=1", "MONOTONIC_USEC=\(microseconds)", "STATUS=Reloading configuration")
    }

    public func stopping() {
        notify("STOPPING=1", "STATUS=Stopping")
    }

    public func watchdog() {
        notify("WATCHDOG=1")
    }

    /// The watchdog timeout systemd set for us (`WATCHDOG_USEC`, for our pid), or nil when there is none.
    public var watchdogTimeout: Duration? {
        var microseconds: UInt64 = 0
        guard sd_watchdog_enabled(0, &microseconds) > 0, microseconds > 0 else { return nil }
        return .microseconds(Int64(microseconds))
    }
}
