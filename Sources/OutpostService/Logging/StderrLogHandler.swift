import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A swift-log handler that writes one plain line per entry to standard error, for running in a terminal or under a
/// supervisor that is not journald: `2026-11-23T18:22:19.123Z info outpostd: message key=value`.
struct StderrLogHandler: SharedLevelLogHandler {
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?
    private let label: String
    let levelControl: LogLevelControl

    /// Whole lines from concurrent loggers must not interleave.
    private static let writeLock = Mutex(())

    init(label: String, levelControl: LogLevelControl) {
        self.label = label
        self.levelControl = levelControl
    }

    func log(event: LogEvent) {
        let (level, message, explicitMetadata) = (event.level, event.message, event.metadata)
        let merged = mergedMetadata(explicitMetadata)
        var text = "\(Self.timestamp()) \(level) \(label): \(message)"
        for key in merged.keys.sorted() {
            text += " \(key)=\(merged[key]!)"
        }
        if let error = event.error { text += " error=\(error)" }
        text += "\n"
        Self.writeLock.withLock { _ in
            var bytes = Array(text.utf8)
            var offset = 0
            while offset < bytes.count {
                let written = bytes[offset...].withUnsafeMutableBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
                if written < 0 && errno == EINTR { continue }
                if written <= 0 { return }
                offset += written
            }
            bytes.removeAll()
        }
    }

    /// UTC, millisecond precision, ISO 8601: sortable and unambiguous across machines.
    static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var parts = tm()
        var seconds = now.tv_sec
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2))."
            + "\(pad(Int32(now.tv_nsec / 1_000_000), 3))Z"
    }
}
