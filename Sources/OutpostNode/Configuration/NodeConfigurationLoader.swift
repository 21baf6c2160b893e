import Logging
import OutpostLanes
import OutpostService
import OutpostTOML

#if canImport(Glibc)
import Glibc
#endif

/// Reads `outpostd.toml` into a `NodeConfiguration`, or explains precisely why it cannot.
public enum NodeConfigurationLoader {
    /// The file read when `--config` is not given.
    public static let defaultPath = "/etc/outpost/outpostd.toml"

    /// Loads the configuration.
    /// - Parameters:
    ///   - path: the file to read. When it is the default path and the file does not exist, the built-in defaults
    ///     are used (a fresh install runs without a config file); any other missing file is an error.
    ///   - overrides: command-line values, applied last.
    ///   - defaults: what a key the file does not set takes (a user server's differ from the system service's).
    public static func load(
        path: String,
        isExplicit: Bool,
        overrides: CommandLineOverrides,
        defaults: NodeConfiguration = NodeConfiguration()
    ) throws(ConfigurationError)
        -> NodeConfiguration
    {
        var configuration: NodeConfiguration
        if !isExplicit && access(path, F_OK) != 0 && errno == ENOENT {
            configuration = defaults
        } else {
            configuration = try parse(text: try ConfigurationFile.read(path), file: path, defaults: defaults)
        }
        overrides.apply(to: &configuration)
        return configuration
    }

    /// Parses configuration text; `file` names it in errors.
    public static func parse(
        text: String,
        file: String,
        defaults: NodeConfiguration = NodeConfiguration()
    ) throws(ConfigurationError) -> NodeConfiguration {
        let root = try ConfigurationFile.root(text: text, file: file)
        try root.rejectUnknownKeys(known: [
            "node", "control", "log", "requests", "lanes", "sandbox", "coordinator", "scheduler", "bandwidth",
            "remote",
        ])
        var configuration = defaults

        if let node = try root.subsection("node") {
            try node.rejectUnknownKeys(known: ["state_directory", "name"])
            if let value = try node.path("state_directory") { configuration.node.stateDirectory = value }
            if let value = try node.nonEmptyString("name") { configuration.node.name = value }
        }
        if let control = try root.subsection("control") {
            try control.rejectUnknownKeys(known: [
                "socket", "socket_mode", "max_connections", "max_connections_per_user", "idle_timeout_seconds",
                "max_message_bytes", "superusers",
            ])
            if let value = try control.path("socket") {
                guard value.utf8.count < 108 else {
                    throw control.error(
                        "socket",
                        "is \(value.utf8.count) bytes long; a Unix socket path must be under 108"
                    )
                }
                configuration.control.socket = value
            }
            if let value = try control.fileMode("socket_mode") { configuration.control.socketMode = value }
            if let value = try control.integer("max_connections", in: 1...65536) {
                configuration.control.maxConnections = value
            }
            if let value = try control.integer("max_connections_per_user", in: 1...65536) {
                configuration.control.maxConnectionsPerUser = value
            }
            if let value = try control.integer("idle_timeout_seconds", in: 1...86400) {
                configuration.control.idleTimeoutSeconds = value
            }
            if let value = try control.integer("max_message_bytes", in: 4096...(64 << 20)) {
                configuration.control.maxMessageBytes = value
            }
            if let value = try control.stringArray("superusers") { configuration.control.superusers = value }
        }
        if let requests = try root.subsection("requests") {
            try requests.rejectUnknownKeys(known: [
                "workers", "max_pending_per_user", "max_finished_per_user", "max_result_bytes_per_user",
                "time_limit_seconds", "interval_seconds",
            ])
            if let value = try requests.integer("workers", in: 1...256) { configuration.requests.workers = value }
            if let value = try requests.integer("max_pending_per_user", in: 1...1_000_000) {
                configuration.requests.maxPendingPerUser = value
            }
            if let value = try requests.integer("max_finished_per_user", in: 1...1_000_000) {
                configuration.requests.maxFinishedPerUser = value
            }
            if let value = try requests.integer("max_result_bytes_per_user", in: (1 << 20)...(1 << 40)) {
                configuration.requests.maxResultBytesPerUser = value
            }
            if let value = try requests.integer("time_limit_seconds", in: 0...2_147_483_647) {
                configuration.requests.timeLimitSeconds = Int64(value)
            }
            if let value = try requests.integer("interval_seconds", in: 60...2_147_483_647) {
                configuration.requests.intervalSeconds = Int64(value)
            }
        }
        if let lanes = try root.subsection("lanes") {
            configuration.lanes = try parseLanes(lanes)
        }
        if let coordinator = try root.subsection("coordinator") {
            configuration.coordinator = try parseCoordinator(coordinator, defaults: configuration.coordinator)
        }
        if let scheduler = try root.subsection("scheduler") {
            configuration.scheduler = try parseScheduler(scheduler)
        }
        if let bandwidth = try root.subsection("bandwidth") {
            configuration.bandwidth = try parseBandwidth(bandwidth)
        }
        if let remote = try root.subsection("remote") {
            configuration.remote = try parseRemote(remote)
        }
        if let sandbox = try root.subsection("sandbox") {
            configuration.sandbox = try parseSandbox(sandbox)
        }
        if let log = try root.subsection("log") {
            try log.rejectUnknownKeys(known: ["level"])
            if let value = try log.string("level") {
                guard let level = Logger.Level(rawValue: value) else {
                    let levels = Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")
                    throw log.error("level", "must be one of \(levels), found \"\(value)\"")
                }
                configuration.log.level = level
            }
        }
        return configuration
    }

    /// `[lanes]`: sizes are in bytes, times in seconds; a limit of 0 means none.
    static func parseLanes(_ section: ConfigurationSection) throws(ConfigurationError) -> NodeConfiguration.Lanes {
        try section.rejectUnknownKeys(known: [
            "count", "cpus", "memory_limit", "max_runtime", "max_restarts", "finished_kept", "control_group",
            "output_limit", "kill_grace", "check_interval_ms", "niceness", "task_cgroups",
        ])
        var lanes = NodeConfiguration.Lanes()
        if let value = try section.integer("count", in: 0...1024) { lanes.lanes.count = value }
        if let value = try section.integer("cpus", in: 1...4096) { lanes.lanes.cpus = value }
        if let value = try section.integer("memory_limit", in: 0...(1 << 50)) {
            lanes.lanes.memoryLimitBytes = value == 0 ? nil : Int64(value)
        }
        if let value = try section.integer("max_runtime", in: 0...(10 * 365 * 86400)) {
            lanes.lanes.maxRuntimeSeconds = value == 0 ? nil : Int64(value)
        }
        if let value = try section.integer("max_restarts", in: 0...1000) { lanes.lanes.maxRestarts = value }
        if let value = try section.integer("finished_kept", in: 0...100_000) { lanes.lanes.finishedKept = value }
        if let value = try section.nonEmptyString("control_group") { lanes.controlGroup = value }
        if let value = try section.integer("output_limit", in: 4096...(1 << 40)) {
            lanes.outputLimitBytes = Int64(value)
        }
        if let value = try section.integer("kill_grace", in: 0...3600) { lanes.killGraceSeconds = Int64(value) }
        if let value = try section.integer("check_interval_ms", in: 50...60000) {
            lanes.checkIntervalMilliseconds = Int64(value)
        }
        if let value = try section.integer("niceness", in: 0...19) { lanes.niceness = Int32(value) }
        if let value = try section.boolean("task_cgroups") { lanes.taskCgroups = value }
        return lanes
    }

    /// `[scheduler]`: the BOINC project the node works for.
    static func parseScheduler(
        _ section: ConfigurationSection
    ) throws(ConfigurationError) -> NodeConfiguration.Scheduler {
        try section.rejectUnknownKeys(known: [
            "enabled", "project_url", "authenticator_file", "platform", "work_buf_min_days", "work_buf_additional_days",
            "max_concurrent_transfers", "backoff_min", "backoff_max",
        ])
        var scheduler = NodeConfiguration.Scheduler()
        if let value = try section.boolean("enabled") { scheduler.enabled = value }
        if let url = try section.nonEmptyString("project_url") {
            guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
                throw section.error("project_url", "must be an http:// or https:// URL")
            }
            scheduler.projectURL = url
        }
        scheduler.authenticatorFile = try section.path("authenticator_file")
        if let value = try section.nonEmptyString("platform") { scheduler.platform = value }
        if let value = try section.number("work_buf_min_days", in: 0...10) { scheduler.workBufferMinimumDays = value }
        if let value = try section.number("work_buf_additional_days", in: 0...10) {
            scheduler.workBufferAdditionalDays = value
        }
        if let value = try section.integer("max_concurrent_transfers", in: 1...64) {
            scheduler.maximumConcurrentTransfers = value
        }
        if let value = try section.integer("backoff_min", in: 1...86_400) {
            scheduler.backoffMinimumSeconds = Double(value)
        }
        if let value = try section.integer("backoff_max", in: 1...(7 * 86_400)) {
            scheduler.backoffMaximumSeconds = Double(value)
        }
        guard scheduler.backoffMinimumSeconds <= scheduler.backoffMaximumSeconds else {
            throw section.error("backoff_min", "must not be larger than backoff_max")
        }
        return scheduler
    }

    /// `[bandwidth]`: limits the administrator fixes.
    static func parseBandwidth(
        _ section: ConfigurationSection
    ) throws(ConfigurationError) -> NodeConfiguration.Bandwidth {
        try section.rejectUnknownKeys(known: [
            "incoming_rate_limit", "outgoing_rate_limit", "incoming_max_connections", "borrow_outgoing",
            "borrow_incoming",
        ])
        var bandwidth = NodeConfiguration.Bandwidth()
        bandwidth.incomingRateLimit = try section.number("incoming_rate_limit", in: 0...100_000_000)
        bandwidth.outgoingRateLimit = try section.number("outgoing_rate_limit", in: 0...100_000_000)
        bandwidth.incomingMaxConnections = try section.integer("incoming_max_connections", in: 0...1024).map { Int($0) }
        bandwidth.borrowOutgoing = try section.boolean("borrow_outgoing")
        bandwidth.borrowIncoming = try section.boolean("borrow_incoming")
        return bandwidth
    }

    /// `[coordinator]`: the check-in target and the node's own description of itself.
    static func parseCoordinator(
        _ section: ConfigurationSection,
        defaults: NodeConfiguration.Coordinator = NodeConfiguration.Coordinator()
    ) throws(ConfigurationError) -> NodeConfiguration.Coordinator {
        try section.rejectUnknownKeys(known: [
            "url", "enrollment_token_file", "ca_file", "checkin_interval", "when_disabled", "description", "site",
            "metadata", "client_type",
        ])
        var coordinator = defaults
        if let url = try section.nonEmptyString("url") {
            guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
                throw section.error("url", "must start with https:// (or http:// for a coordinator on loopback)")
            }
            coordinator.url = url
        }
        coordinator.enrollmentTokenFile = try section.path("enrollment_token_file")
        coordinator.caFile = try section.path("ca_file")
        if let value = try section.integer("checkin_interval", in: 1...86_400) {
            coordinator.checkinIntervalSeconds = Int64(value)
        }
        if let text = try section.nonEmptyString("when_disabled") {
            guard let value = NodeConfiguration.Coordinator.WhenDisabled(rawValue: text) else {
                throw section.error("when_disabled", "must be finish (running tasks complete) or pause")
            }
            coordinator.whenDisabled = value
        }
        coordinator.description = try section.string("description")
        coordinator.site = try section.nonEmptyString("site")
        if let text = try section.nonEmptyString("client_type") {
            guard let value = NodeConfiguration.Coordinator.ClientTypeChoice(rawValue: text) else {
                throw section.error("client_type", "must be server (type 1) or user_server (type 2)")
            }
            coordinator.clientType = value
        }
        if let metadata = try section.subsection("metadata") {
            var values: [String: String] = [:]
            for (key, _) in metadata.table.entries {
                guard let value = try metadata.string(key) else { continue }
                values[key] = value
            }
            coordinator.metadata = values
        }
        return coordinator
    }

    /// `[sandbox]`: `user = { name = "/absolute/root", … }` or `user = false` (not sandboxed).
    static func parseSandbox(_ section: ConfigurationSection) throws(ConfigurationError) -> [String: [String: String]?]
    {
        var mappings: [String: [String: String]?] = [:]
        for (user, node) in section.table.entries {
            switch node.value {
            case .boolean(false):
                mappings[user] = .some(nil)
            case .table:
                guard let roots = try section.subsection(user) else { continue }
                var named: [String: String] = [:]
                for (name, _) in roots.table.entries {
                    guard !name.contains(":"), !name.contains("/") else {
                        throw roots.error(name, "a sandbox root name may not contain ':' or '/'")
                    }
                    named[name] = try roots.path(name)
                }
                mappings[user] = .some(named)
            default:
                throw section.error(user, "must be a table of root names to absolute paths, or false (not sandboxed)")
            }
        }
        return mappings
    }
}
