import CSystemd
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// A swift-log handler that writes structured entries to the systemd journal with `sd_journal_sendv`.
///
/// Metadata keys become journal fields (`request_id` → `REQUEST_ID`), so `journalctl REQUEST_ID=7` finds an entry.
/// Field names are rewritten to journald's rules (`[A-Z0-9_]`, not starting with `_` or a digit), because journald
/// silently drops entries' fields that break them.
struct JournaldLogHandler: SharedLevelLogHandler {
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?
    private let label: String
    private let identifier: String
    let levelControl: LogLevelControl

    init(label: String, identifier: String, levelControl: LogLevelControl) {
        self.label = label
        self.identifier = identifier
        self.levelControl = levelControl
    }

    func log(event: LogEvent) {
        let (level, message, explicitMetadata) = (event.level, event.message, event.metadata)
        let (file, function, line) = (event.file, event.function, event.line)
        var fields = [
            "MESSAGE=\(message)",
            "PRIORITY=\(level.syslogPriority)",
            "SYSLOG_IDENTIFIER=\(identifier)",
            "CODE_FILE=\(file)",
            "CODE_LINE=\(line)",
            "CODE_FUNC=\(function)",
            "LOGGER=\(label)",
        ]
        let merged = mergedMetadata(explicitMetadata)
        for (key, value) in merged {
            fields.append("\(Self.fieldName(key))=\(value)")
        }
        if let error = event.error { fields.append("ERROR=\(error)") }
        Self.send(fields)
    }

    /// Maps a metadata key to a valid journal field name.
    static func fieldName(_ key: String) -> String {
        var name = String(
            key.uppercased().unicodeScalars.map { scalar -> Character in
                let isValid = ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar) || scalar == "_"
                return isValid ? Character(scalar) : "_"
            }
        )
        if name.isEmpty || name.hasPrefix("_") || name.first!.isNumber { name = "F_" + name }
        return String(name.prefix(64))
    }

    /// One contiguous buffer holds every field, so the iovecs point into memory that lives for the whole call.
    private static func send(_ fields: [String]) {
        var joined: [UInt8] = []
        var ranges: [Range<Int>] = []
        for field in fields {
            let start = joined.count
            joined.append(contentsOf: field.utf8)
            ranges.append(start..<joined.count)
        }
        joined.withUnsafeMutableBytes { raw in
            guard let base = raw.baseAddress else { return }
            var vectors = ranges.map { iovec(iov_base: base + $0.lowerBound, iov_len: $0.count) }
            _ = sd_journal_sendv(&vectors, Int32(vectors.count))
        }
    }
}

extension Logger.Level {
    /// syslog(3) priorities, which journald's PRIORITY field uses.
    var syslogPriority: Int {
        switch self {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }
}
