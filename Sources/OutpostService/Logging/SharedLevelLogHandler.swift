import Logging

/// What outpostd's two log handlers share: a log level read from the daemon-wide `LogLevelControl` (so a reload
/// changes every logger at once), per-logger metadata, and the merge order swift-log defines (handler metadata, then
/// the provider's, then the call's own).
protocol SharedLevelLogHandler: LogHandler {
    var levelControl: LogLevelControl { get }
}

extension SharedLevelLogHandler {
    var logLevel: Logger.Level {
        get { levelControl.current }
        set { levelControl.current = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func mergedMetadata(_ explicit: Logger.Metadata?) -> Logger.Metadata {
        metadata
            .merging(metadataProvider?.get() ?? [:]) { _, provided in provided }
            .merging(explicit ?? [:]) { _, explicit in explicit }
    }
}
