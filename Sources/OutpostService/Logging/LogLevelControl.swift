import Logging
import Synchronization

/// The daemon's log level, shared by every logger it made, so a reload (SIGHUP) can change it everywhere at once.
/// swift-log handlers are values copied into each `Logger`; this reference is what the copies share.
public final class LogLevelControl: Sendable {
    private let level: Mutex<Logger.Level>

    public init(_ level: Logger.Level) {
        self.level = Mutex(level)
    }

    public var current: Logger.Level {
        get { level.withLock { $0 } }
        set { level.withLock { $0 = newValue } }
    }
}
