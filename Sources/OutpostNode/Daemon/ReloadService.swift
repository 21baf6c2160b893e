import Logging
import OutpostService
import ServiceLifecycle
import UnixSignals

/// Reloads the configuration on SIGHUP: `RELOADING=1`, read the file again, apply what can change while running,
/// `READY=1`. A file that no longer parses leaves the running configuration in force and logs why. Either way the
/// sandbox roots in force are checked again: one the service cannot use is named in the log with the remedy.
public struct ReloadService: Service {
    private let source: ConfigurationSource
    private let settings: NodeSettings
    private let levelControl: LogLevelControl
    private let notifier: SystemdNotifier
    private let logger: Logger
    private let readyStatus: @Sendable () -> String
    private let sandboxMappings: SandboxMappingStore

    public init(
        source: ConfigurationSource,
        settings: NodeSettings,
        levelControl: LogLevelControl,
        notifier: SystemdNotifier,
        logger: Logger,
        readyStatus: @escaping @Sendable () -> String,
        sandboxMappings: SandboxMappingStore
    ) {
        self.source = source
        self.settings = settings
        self.levelControl = levelControl
        self.notifier = notifier
        self.logger = logger
        self.readyStatus = readyStatus
        self.sandboxMappings = sandboxMappings
    }

    public func run() async throws {
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        for await _ in hangups.cancelOnGracefulShutdown() {
            notifier.reloading()
            reload()
            SandboxRootAudit.log(sandboxMappings.current, to: logger)
            notifier.ready(status: readyStatus())
        }
    }

    func reload() {
        let new: NodeConfiguration
        do {
            new = try source.load()
        } catch {
            logger.error(
                "reload failed; the running configuration stays in effect",
                metadata: ["error": "\(error)", "file": "\(source.path)"]
            )
            return
        }
        let old = settings.current
        // Live: [node] name, [log] level, [lanes] control_group, [control] superusers, max_connections,
        // max_connections_per_user and idle_timeout_seconds (read for each connection). Everything else is read once
        // at start, and a change to it is said, never silently dropped.
        var oldLanes = old.lanes
        var newLanes = new.lanes
        (oldLanes.controlGroup, newLanes.controlGroup) = (nil, nil)
        for (key, changed) in [
            ("node.state_directory", old.node.stateDirectory != new.node.stateDirectory),
            ("control.socket", old.control.socket != new.control.socket),
            ("control.socket_mode", old.control.socketMode != new.control.socketMode),
            ("control.max_message_bytes", old.control.maxMessageBytes != new.control.maxMessageBytes),
            ("[requests]", old.requests != new.requests),
            ("[coordinator]", old.coordinator != new.coordinator),
            ("[scheduler]", old.scheduler != new.scheduler),
            ("[bandwidth]", old.bandwidth != new.bandwidth),
            ("[remote]", old.remote != new.remote),
        ] where changed {
            logger.warning("\(key) changed; it takes effect when outpostd restarts")
        }
        if oldLanes != newLanes {
            logger.warning("[lanes] changed; it takes effect when outpostd restarts (setConfig changes lanes at once)")
        }
        if old.sandbox != new.sandbox {
            logger.warning(
                """
                [sandbox] changed, but it only seeds sandbox-mappings.json on first start; \
                use setSandboxMapping (outpostctl sandbox set) to change the mappings in force
                """
            )
        }
        settings.replace(with: new)
        levelControl.current = new.log.level
        logger.notice("configuration reloaded", metadata: ["file": "\(source.path)"])
    }
}

/// Where the configuration comes from: the file and the command-line overrides, so a reload reads it the same way
/// the start did.
public struct ConfigurationSource: Sendable {
    public var path: String
    public var isExplicit: Bool
    public var overrides: CommandLineOverrides
    /// What the keys the file leaves out take: the system service's defaults, or a user server's.
    public var defaults: NodeConfiguration

    public init(
        path: String,
        isExplicit: Bool,
        overrides: CommandLineOverrides,
        defaults: NodeConfiguration = NodeConfiguration()
    ) {
        self.path = path
        self.isExplicit = isExplicit
        self.overrides = overrides
        self.defaults = defaults
    }

    public func load() throws(ConfigurationError) -> NodeConfiguration {
        try NodeConfigurationLoader.load(path: path, isExplicit: isExplicit, overrides: overrides, defaults: defaults)
    }
}
