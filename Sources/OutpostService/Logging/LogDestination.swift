import Logging

#if canImport(Glibc)
import Glibc
#endif

/// Where the daemon's log goes: the journal when systemd connected our stderr to it, otherwise plain stderr lines.
public enum LogDestination: Sendable, Equatable {
    case journal
    case standardError

    /// systemd sets `JOURNAL_STREAM=DEV:INODE` for a service whose stderr is the journal. The variable is inherited by
    /// children whose stderr goes elsewhere, so it counts only when it matches the stderr we actually have.
    public static func detect(environment: [String: String]) -> LogDestination {
        guard let stream = environment["JOURNAL_STREAM"] else { return .standardError }
        let parts = stream.split(separator: ":")
        guard parts.count == 2, let device = UInt64(parts[0]), let inode = UInt64(parts[1]) else {
            return .standardError
        }
        var status = stat()
        guard fstat(STDERR_FILENO, &status) == 0 else { return .standardError }
        return UInt64(status.st_dev) == device && UInt64(status.st_ino) == inode ? .journal : .standardError
    }

    /// Installs the matching handler as swift-log's global factory. Call once, early in `main`.
    public func bootstrap(identifier: String, levelControl: LogLevelControl) {
        switch self {
        case .journal:
            LoggingSystem.bootstrap { label in
                JournaldLogHandler(label: label, identifier: identifier, levelControl: levelControl)
            }
        case .standardError:
            LoggingSystem.bootstrap { label in StderrLogHandler(label: label, levelControl: levelControl) }
        }
    }
}
