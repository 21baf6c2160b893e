import Logging
import OutpostHTTP
import OutpostService

/// Everything `coordinator.toml` can set, with the defaults a fresh install runs with.
public struct CoordinatorConfiguration: Sendable, Equatable {
    /// `host:port`, IPv6 in brackets. Loopback unless `[tls]` is set: the check-in and admin APIs never travel in
    /// clear text beyond this machine.
    public var listenHost = "127.0.0.1"
    public var listenPort = 8470
    public var stateDirectory = "/var/lib/outpost-coordinator"
    /// Nil: `<state_directory>/admin.key`, created (0600) on first start.
    public var apiKeyFile: String?
    public var checkinIntervalSeconds = 60
    public var offlineGraceSeconds = 900
    public var maximumBodyBytes = 256 * 1024
    public var requestTimeoutSeconds = 30
    public var maximumConnections = 16384
    public var tlsCertificate: String?
    public var tlsKey: String?
    /// PEM certificates of the CA whose client certificates authenticate admins (besides the API key).
    public var tlsAdminCA: String?
    public var logLevel: Logger.Level = .info
    /// `[project]`: the BOINC project the coordinator serves (its URLs follow from `url`).
    public var projectName = "Outpost"
    public var requestDelaySeconds = 1
    public var nextRPCDelaySeconds = 600
    public var maximumInProgressPerProcessor = 2
    public var defaultDeadlineSeconds = 86_400
    public var defaultMaximumAttempts = 3

    public init() {}

    /// The project's settings, below this coordinator's URL.
    public var projectSettings: ProjectSettings {
        var settings = ProjectSettings(baseURL: url)
        settings.name = projectName
        settings.requestDelaySeconds = Double(requestDelaySeconds)
        settings.nextRPCDelaySeconds = Double(nextRPCDelaySeconds)
        settings.maximumInProgressPerProcessor = maximumInProgressPerProcessor
        settings.defaultDeadlineSeconds = Double(defaultDeadlineSeconds)
        settings.defaultMaximumAttempts = defaultMaximumAttempts
        return settings
    }

    public var resolvedAPIKeyFile: String { apiKeyFile ?? stateDirectory + "/admin.key" }
    public var registryPath: String { stateDirectory + "/registry.sqlite" }
    public var usesTLS: Bool { tlsCertificate != nil }

    /// The URL nodes and the admin command line use to reach this coordinator.
    public var url: String {
        let host = listenHost.contains(":") ? "[\(listenHost)]" : listenHost
        let shown = host == "0.0.0.0" ? "127.0.0.1" : host == "[::]" ? "[::1]" : host
        return "\(usesTLS ? "https" : "http")://\(shown):\(listenPort)"
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "::1" || host == "localhost" || host.hasPrefix("127.")
    }
}

/// Reads `coordinator.toml`.
public enum CoordinatorConfigurationLoader {
    public static let defaultPath = "/etc/outpost/coordinator.toml"

    public static func load(path: String, isExplicit: Bool) throws(ConfigurationError) -> CoordinatorConfiguration {
        if !isExplicit && !ConfigurationFile.exists(path) { return CoordinatorConfiguration() }
        return try parse(text: try ConfigurationFile.read(path), file: path)
    }

    public static func parse(text: String, file: String) throws(ConfigurationError) -> CoordinatorConfiguration {
        let root = try ConfigurationFile.root(text: text, file: file)
        try root.rejectUnknownKeys(known: ["coordinator", "tls", "log", "project"])
        var configuration = CoordinatorConfiguration()
        if let section = try root.subsection("coordinator") {
            try section.rejectUnknownKeys(known: [
                "listen", "state_directory", "api_key_file", "checkin_interval", "offline_grace", "max_body_bytes",
                "request_timeout", "max_connections",
            ])
            if let listen = try section.nonEmptyString("listen") {
                guard let (host, port) = HostPort.split(listen) else {
                    throw section.error("listen", "must be HOST:PORT, with an IPv6 host in brackets ([::1]:8470)")
                }
                configuration.listenHost = host
                configuration.listenPort = port
            }
            if let value = try section.path("state_directory") { configuration.stateDirectory = value }
            if let value = try section.path("api_key_file") { configuration.apiKeyFile = value }
            if let value = try section.integer("checkin_interval", in: 1...86_400) {
                configuration.checkinIntervalSeconds = value
            }
            if let value = try section.integer("offline_grace", in: 1...(30 * 86_400)) {
                configuration.offlineGraceSeconds = value
            }
            if let value = try section.integer("max_body_bytes", in: 4096...(64 << 20)) {
                configuration.maximumBodyBytes = value
            }
            if let value = try section.integer("request_timeout", in: 1...3600) {
                configuration.requestTimeoutSeconds = value
            }
            if let value = try section.integer("max_connections", in: 1...1_000_000) {
                configuration.maximumConnections = value
            }
        }
        if let tls = try root.subsection("tls") {
            try tls.rejectUnknownKeys(known: ["certificate", "key", "admin_ca"])
            configuration.tlsCertificate = try tls.path("certificate")
            configuration.tlsKey = try tls.path("key")
            configuration.tlsAdminCA = try tls.path("admin_ca")
            guard configuration.tlsAdminCA == nil || configuration.tlsCertificate != nil else {
                throw tls.error("admin_ca", "admin client certificates need TLS: set certificate and key too")
            }
            guard (configuration.tlsCertificate == nil) == (configuration.tlsKey == nil) else {
                throw tls.error("certificate", "TLS needs both certificate and key")
            }
        }
        if let project = try root.subsection("project") {
            try project.rejectUnknownKeys(known: [
                "name", "request_delay", "next_rpc_delay", "max_in_progress_per_cpu", "default_deadline",
                "max_attempts",
            ])
            if let value = try project.nonEmptyString("name") { configuration.projectName = value }
            if let value = try project.integer("request_delay", in: 0...86_400) {
                configuration.requestDelaySeconds = value
            }
            if let value = try project.integer("next_rpc_delay", in: 0...(7 * 86_400)) {
                configuration.nextRPCDelaySeconds = value
            }
            if let value = try project.integer("max_in_progress_per_cpu", in: 1...1000) {
                configuration.maximumInProgressPerProcessor = value
            }
            if let value = try project.integer("default_deadline", in: 1...(366 * 86_400)) {
                configuration.defaultDeadlineSeconds = value
            }
            if let value = try project.integer("max_attempts", in: 1...100) {
                configuration.defaultMaximumAttempts = value
            }
        }
        if let log = try root.subsection("log") {
            try log.rejectUnknownKeys(known: ["level"])
            if let text = try log.nonEmptyString("level") {
                guard let level = Logger.Level(rawValue: text) else {
                    throw log.error("level", "must be trace, debug, info, notice, warning, error or critical")
                }
                configuration.logLevel = level
            }
        }
        if !configuration.usesTLS && !CoordinatorConfiguration.isLoopback(configuration.listenHost) {
            throw root.error(
                "coordinator",
                "listen = \"\(configuration.listenHost):\(configuration.listenPort)\" is beyond loopback: set [tls] "
                    + "certificate and key first, so secrets never cross the network in clear text"
            )
        }
        return configuration
    }
}
