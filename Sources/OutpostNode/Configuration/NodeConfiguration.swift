import Logging
import OutpostLanes

/// outpostd's configuration: every key of `etc/outpost/outpostd.toml`, with the same defaults.
public struct NodeConfiguration: Sendable, Equatable {
    public var node = Node()
    public var control = Control()
    public var log = Log()
    public var requests = Requests()
    public var lanes = Lanes()
    public var coordinator = Coordinator()
    public var scheduler = Scheduler()
    public var bandwidth = Bandwidth()
    public var remote = Remote()
    /// `[sandbox]`: user name ("" for everyone without a mapping of their own) → named roots, or nil for "not
    /// sandboxed". Empty by default: a non-superuser reaches nothing until an admin maps a sandbox.
    public var sandbox: [String: [String: String]?] = [:]

    public init() {}

    /// `[requests]`: the asynchronous file requests.
    public struct Requests: Sendable, Equatable {
        /// Threads that run file operations; requests beyond them wait their turn.
        public var workers = 4
        /// Unfinished requests one user may have at once.
        public var maxPendingPerUser = 1000
        /// Finished requests whose results one user keeps; past it, that user's oldest result is dropped before its
        /// time limit.
        public var maxFinishedPerUser = 1000
        /// Bytes of finished results one user keeps (listings' JSON text); past it, as above. The newest result is
        /// kept whatever its size.
        public var maxResultBytesPerUser = 256 << 20
        /// How long a finished request's result is kept.
        public var timeLimitSeconds: Int64 = 3600
        /// How often finished requests are swept.
        public var intervalSeconds: Int64 = 300
    }

    /// `[lanes]`: the compute lanes and how their tasks run.
    public struct Lanes: Sendable, Equatable {
        public var lanes = LaneConfiguration()
        /// Group whose members (besides superusers) may read the state and control lanes and tasks; nil: only
        /// superusers.
        public var controlGroup: String?
        /// Bytes kept of each of a task's stdout and stderr.
        public var outputLimitBytes: Int64 = 64 << 20
        /// Seconds between SIGTERM and SIGKILL when a task is ended.
        public var killGraceSeconds: Int64 = 5
        /// Milliseconds between checks of a running task's limits and progress.
        public var checkIntervalMilliseconds: Int64 = 1000
        /// The tasks' nice value.
        public var niceness: Int32 = 19
        /// Each task in a cgroup of its own when outpostd may create cgroups (root, or `Delegate=yes`).
        public var taskCgroups = true
    }

    /// `[bandwidth]`: transfer limits fixed by the administrator (each one set here is locked against
    /// `updateBandwidthLimits`); rates in kbit/s, 0 meaning unlimited.
    public struct Bandwidth: Sendable, Equatable {
        public var incomingRateLimit: Double?
        public var outgoingRateLimit: Double?
        public var incomingMaxConnections: Int?
        public var borrowOutgoing: Bool?
        public var borrowIncoming: Bool?
    }

    /// `[scheduler]`: where the node gets BOINC work.
    public struct Scheduler: Sendable, Equatable {
        /// Fetch work at all. With a coordinator and no `project_url`, the coordinator's project is used.
        public var enabled = true
        /// A BOINC project's master URL; nil: `<coordinator url>/boinc/` when a coordinator is set, else none.
        public var projectURL: String?
        /// A file holding the account's authenticator (mode 0600); nil: the node's coordinator credentials.
        public var authenticatorFile: String?
        public var platform = "x86_64-pc-linux-gnu"
        /// Work to keep, in days of the lanes' time: at least the minimum, up to minimum + additional. Nil: what the
        /// project's preferences say, else `defaultWorkBufferDays` each.
        public var workBufferMinimumDays: Double?
        public var workBufferAdditionalDays: Double?
        public static let defaultWorkBufferDays = 0.01
        /// Downloads of one job at once.
        public var maximumConcurrentTransfers = 4
        /// Back-off after a failed RPC: from this many seconds, doubling (with jitter) up to the maximum.
        public var backoffMinimumSeconds: Double = 60
        public var backoffMaximumSeconds: Double = 4 * 3600

        /// The project this node takes work from, if any.
        public func effectiveProjectURL(coordinator: String?) -> String? {
            guard enabled else { return nil }
            if let projectURL { return projectURL }
            guard var base = coordinator else { return nil }
            while base.hasSuffix("/") { base.removeLast() }
            return base + "/boinc/"
        }
    }

    /// `[node]`
    /// `[coordinator]`: where the node checks in, and how it behaves when the coordinator disables it.
    public struct Coordinator: Sendable, Equatable {
        /// Nil: the node runs on its own and checks in nowhere.
        public var url: String?
        /// A file holding the enrollment token (`outpost-coordinator token create`), read until the node enrolls.
        public var enrollmentTokenFile: String?
        /// PEM certificates to trust for an https coordinator with a private CA.
        public var caFile: String?
        /// Seconds between check-ins until the coordinator names its own interval.
        public var checkinIntervalSeconds: Int64 = 60
        /// Disabled by the coordinator: running tasks finish (`finish`, the default) or are paused (`pause`).
        public var whenDisabled: WhenDisabled = .finish
        /// Reported as the client's description, site and metadata; applied when they change here.
        public var description: String?
        public var site: String?
        public var metadata: [String: String]?
        /// `server` (type 1) or `user_server` (type 2); nil: a user server when run by a login user.
        public var clientType: ClientTypeChoice?

        public enum WhenDisabled: String, Sendable, Equatable { case finish, pause }
        public enum ClientTypeChoice: String, Sendable, Equatable {
            case server
            case userServer = "user_server"
        }
    }

    public struct Node: Sendable, Equatable {
        /// Where the node keeps its identity and all persistent state.
        public var stateDirectory = "/var/lib/outpost"
        /// The name the node reports; nil means the host name.
        public var name: String?
    }

    /// `[control]`: the local control socket.
    public struct Control: Sendable, Equatable {
        public var socket = "/run/outpost/control.sock"
        /// Permission bits of the socket file when outpostd binds it itself (socket activation sets its own). Every
        /// local user may connect: the kernel says who they are (SO_PEERCRED), a user without a sandbox mapping
        /// reaches no file, and one user holds at most `maxConnectionsPerUser` connections.
        public var socketMode: UInt32 = 0o666
        /// Connections served at once (root's and the daemon's own user's aside); one more is told so and closed.
        public var maxConnections = 256
        /// Of those, the most one user may hold.
        public var maxConnectionsPerUser = 32
        /// Seconds a connection may stay silent with no request in progress and no state stream before it is closed.
        public var idleTimeoutSeconds = 300
        /// The longest line (one JSON-RPC message) accepted; a longer one gets an error and the connection is closed.
        public var maxMessageBytes = 1 << 20
        /// Users granted superuser besides root and the daemon's own user.
        public var superusers: [String] = []
    }

    /// `[remote]`: the control API over WebSocket on TLS for remote apps. Off while `listen` is empty; with an
    /// address, `certificate` and `privateKey` are required (the configuration is refused without them).
    public struct Remote: Sendable, Equatable {
        /// `HOST:PORT` addresses, IPv6 in brackets.
        public var listen: [(host: String, port: Int)] = []
        public var certificate: String?
        public var privateKey: String?
        /// Browser origins (`https://app.example`) allowed to open the WebSocket; clients that send no `Origin`
        /// (programs, not browsers) are not affected.
        public var allowedOrigins: [String] = []
        /// Connections served at once across all remote addresses; more wait in the kernel's queue.
        public var maxConnections = 256
        /// Failed sign-ins allowed per address per minute; past that, attempts are refused unchecked.
        public var loginFailuresPerMinute = 10
        /// Seconds a connection may take to deliver a whole HTTP request head (slow clients lose their connection).
        public var requestTimeoutSeconds = 30

        public var isEnabled: Bool { !listen.isEmpty }

        public static func == (left: Remote, right: Remote) -> Bool {
            left.listen.map { "\($0.host) \($0.port)" } == right.listen.map { "\($0.host) \($0.port)" }
                && left.certificate == right.certificate && left.privateKey == right.privateKey
                && left.allowedOrigins == right.allowedOrigins && left.maxConnections == right.maxConnections
                && left.loginFailuresPerMinute == right.loginFailuresPerMinute
                && left.requestTimeoutSeconds == right.requestTimeoutSeconds
        }
    }

    /// `[log]`
    public struct Log: Sendable, Equatable {
        public var level: Logger.Level = .info
    }

    /// The node name to report: the configured one, or the host name.
    public var effectiveNodeName: String {
        node.name ?? HostName.current
    }
}

/// Values given on the command line, which win over the configuration file (and survive reloads).
public struct CommandLineOverrides: Sendable, Equatable {
    public var stateDirectory: String?
    public var controlSocket: String?
    public var logLevel: Logger.Level?

    public init(stateDirectory: String? = nil, controlSocket: String? = nil, logLevel: Logger.Level? = nil) {
        self.stateDirectory = stateDirectory
        self.controlSocket = controlSocket
        self.logLevel = logLevel
    }

    func apply(to configuration: inout NodeConfiguration) {
        if let stateDirectory { configuration.node.stateDirectory = stateDirectory }
        if let controlSocket { configuration.control.socket = controlSocket }
        if let logLevel { configuration.log.level = logLevel }
    }
}
