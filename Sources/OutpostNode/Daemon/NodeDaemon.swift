import FoundationEssentials
import Logging
import OutpostCore
import OutpostLanes
import OutpostRPC
import OutpostState
import ServiceLifecycle
import UnixSignals

#if canImport(Glibc)
import Glibc
import OutpostService
#endif

/// outpostd's composition: configuration, logging, identity, listeners, then every long-running part as a `Service`
/// in one `ServiceGroup`. The order is the contract with systemd: nothing is started until the configuration is
/// valid, and `READY=1` follows the binding of every listener.
public enum NodeDaemon {
    /// Runs the daemon until it is stopped, and returns the process exit status.
    /// - Parameter inheritedSockets: what `SocketActivation.takeInheritedSockets()` returned at the top of `main`.
    public static func run(source: ConfigurationSource, inheritedSockets: [InheritedSocket]) async -> Int32 {
        let configuration: NodeConfiguration
        do {
            configuration = try source.load()
        } catch {
            StandardError.write(line: "outpostd: configuration error: \(error)")
            return ConfigurationError.exitStatus
        }

        let levelControl = LogLevelControl(configuration.log.level)
        let destination = LogDestination.detect(environment: ProcessInfo.processInfo.environment)
        destination.bootstrap(identifier: "outpostd", levelControl: levelControl)
        let logger = Logger(label: "outpostd")
        let notifier = SystemdNotifier()

        let identity: NodeIdentity
        let sandboxMappings: SandboxMappingStore
        let events: EventLog
        let credentials: RemoteCredentials
        do {
            identity = try NodeIdentity.loadOrCreate(stateDirectory: configuration.node.stateDirectory)
            sandboxMappings = try SandboxMappingStore(
                stateDirectory: configuration.node.stateDirectory,
                initial: configuration.sandbox
            )
            events = try EventLog(stateDirectory: configuration.node.stateDirectory)
            credentials = try RemoteCredentials(stateDirectory: configuration.node.stateDirectory)
        } catch {
            logger.critical("cannot use the state directory: \(error)")
            return StateDirectoryError.exitStatus
        }

        let settings = NodeSettings(configuration)
        let node = NodeContext(
            identity: identity,
            instanceID: UUID().uuidString.lowercased(),
            settings: settings,
            sandboxMappings: sandboxMappings,
            events: events,
            logger: logger
        )
        let registry = RequestRegistry(
            workers: configuration.requests.workers,
            maximumPendingPerUser: configuration.requests.maxPendingPerUser,
            retention: .init(
                maximumFinished: configuration.requests.maxFinishedPerUser,
                maximumResultBytes: configuration.requests.maxResultBytesPerUser
            ),
            settings: .init(
                timeLimitSeconds: configuration.requests.timeLimitSeconds,
                intervalSeconds: configuration.requests.intervalSeconds
            ),
            events: events
        )
        let publisher = StatePublisher(initial: NodeStateTree.initial(node: node, lanes: configuration.lanes.lanes))
        let lanesReference = LateReference<LaneSupervisor>()
        let bandwidth: BandwidthSettingsStore
        do {
            bandwidth = try BandwidthSettingsStore(
                stateDirectory: configuration.node.stateDirectory,
                configured: configuration.bandwidth
            )
        } catch {
            logger.critical("cannot use the state directory: \(error)")
            return StateDirectoryError.exitStatus
        }
        let scheduler: SchedulerClient?
        do {
            scheduler = try makeSchedulerClient(
                configuration,
                node: node,
                publisher: publisher,
                lanes: lanesReference,
                limiter: bandwidth.limiter
            )
        } catch {
            logger.critical("cannot open the scheduler's database: \(error)")
            return StateDirectoryError.exitStatus
        }
        let supervisor: LaneSupervisor
        do {
            supervisor = try makeLaneSupervisor(
                configuration,
                node: node,
                publisher: publisher,
                workSources: scheduler.map { [$0] } ?? []
            )
            lanesReference.set(supervisor)
        } catch {
            logger.critical("cannot open the lanes' task database: \(error)")
            return StateDirectoryError.exitStatus
        }
        let checkin = CheckinService(
            .init(
                settings: configuration.coordinator,
                stateDirectory: configuration.node.stateDirectory,
                nodeName: configuration.effectiveNodeName,
                supervisor: supervisor,
                limiter: bandwidth.limiter,
                publisher: publisher,
                recordEvent: { name, fields in events.record(name, fields) },
                logger: logger
            )
        )
        let discovery: DiscoveryService
        do {
            discovery = try await DiscoveryService.bind(configuration.remote, logger: logger)
        } catch {
            logger.critical("cannot bind the UDP discovery socket on the [remote] listen addresses: \(error)")
            return ControlListenerError.exitStatus
        }
        let dispatcher = RPCDispatcher(
            methods: ControlMethods.make(node: node) + FileRequestMethods.make(node: node, registry: registry)
                + SandboxMethods.make(node: node) + EventMethods.make(node: node)
                + LaneMethods.make(node: node, supervisor: supervisor, publisher: publisher)
                + CoordinatorMethods.make(checkin: checkin, registry: registry)
                + BandwidthMethods.make(store: bandwidth) + CredentialMethods.make(node: node, credentials: credentials)
                + DiscoveryMethods.make(discovery: discovery, registry: registry)
        )
        let remoteServices: [any Service]
        do {
            let audit = SignInAudit(
                throttle: LoginThrottle(limit: configuration.remote.loginFailuresPerMinute),
                node: node
            )
            remoteServices = try RemoteServer.make(
                configuration: configuration,
                dispatcher: dispatcher.adding(
                    AuthMethods.make(credentials: credentials, audit: audit),
                    admission: AuthMethods.admission
                ),
                files: FileTransferRoutes(
                    node: node,
                    credentials: credentials,
                    audit: audit,
                    limiter: bandwidth.limiter
                ),
                logger: logger
            )
        } catch {
            logger.critical("cannot start the remote listener: \(error)")
            return ConfigurationError.exitStatus
        }

        let listener: ControlListener
        if let inherited = SocketActivation.controlSocket(in: inheritedSockets) {
            listener = .inherited(inherited)
        } else {
            listener = .path(configuration.control.socket, mode: configuration.control.socketMode)
        }
        let controlServer: ControlServer
        do {
            controlServer = try await ControlServer.bind(
                listener,
                dispatcher: dispatcher,
                settings: settings,
                logger: logger
            )
        } catch {
            logger.critical("cannot listen on the control socket: \(error)")
            return ControlListenerError.exitStatus
        }

        let socketDescription: String
        switch listener {
        case .inherited(let socket): socketDescription = "inherited socket '\(socket.name)' (fd \(socket.fd))"
        case .path(let path, _): socketDescription = path
        }
        let readyStatus: @Sendable () -> String = {
            "Serving the control API on \(socketDescription); \(controlServer.connections) connection(s)"
        }
        logger.info(
            "outpostd starting",
            metadata: [
                "version": "\(OutpostVersion.version)", "node_id": "\(identity.nodeID)",
                "state_directory": "\(configuration.node.stateDirectory)", "control_socket": "\(socketDescription)",
            ]
        )

        events.record(
            "serverStarted",
            [
                "version": .string(OutpostVersion.version), "instanceId": .string(node.instanceID),
                "pid": .integer(Int64(getpid())),
            ]
        )

        let services: [any Service] =
            remoteServices + [
                controlServer,
                RequestRunner(registry: registry),
                RequestSweeper(registry: registry, events: events, logger: logger),
                TransferRatePublisher(bandwidth: bandwidth, publisher: publisher),
                supervisor,
                checkin,
                WatchdogService(notifier: notifier, checks: [controlServer], logger: logger),
                ReloadService(
                    source: source,
                    settings: settings,
                    levelControl: levelControl,
                    notifier: notifier,
                    logger: logger,
                    readyStatus: readyStatus,
                    sandboxMappings: sandboxMappings
                ),
                LifecycleAnnouncer(
                    notifier: notifier,
                    logger: logger,
                    readyStatus: readyStatus,
                    sandboxMappings: sandboxMappings
                ),
            ]
        var groupConfiguration = ServiceGroupConfiguration(
            services: services,
            gracefulShutdownSignals: [.sigterm],
            cancellationSignals: [.sigint],
            logger: logger
        )
        groupConfiguration.maximumGracefulShutdownDuration = .seconds(10)
        do {
            try await ServiceGroup(configuration: groupConfiguration).run()
        } catch is CancellationError {
            // SIGINT cancels the group: a requested stop, not a failure.
        } catch {
            logger.critical("outpostd stopped on an error: \(error)")
            await scheduler?.shutdown()
            return 1
        }
        await scheduler?.shutdown()
        logger.notice("outpostd stopped")
        return 0
    }

    /// The lanes: their task database (`lanes.sqlite`) and task directories (`tasks/`) in the state directory.
    static func makeLaneSupervisor(
        _ configuration: NodeConfiguration,
        node: NodeContext,
        publisher: StatePublisher,
        workSources: [any WorkSource] = []
    ) throws -> LaneSupervisor {
        let stateDirectory = configuration.node.stateDirectory
        let tasksDirectory = stateDirectory + "/tasks"
        if mkdir(tasksDirectory, 0o700) != 0 && errno != EEXIST {
            throw LaneError.system("cannot create \(tasksDirectory)", errno: errno)
        }
        let store = try TaskStore(path: stateDirectory + "/lanes.sqlite")
        var settings = ExecutionSettings(nodeID: node.identity.nodeID)
        settings.outputCapacity = configuration.lanes.outputLimitBytes
        settings.killGrace = .seconds(configuration.lanes.killGraceSeconds)
        settings.checkInterval = .milliseconds(configuration.lanes.checkIntervalMilliseconds)
        settings.niceness = configuration.lanes.niceness
        settings.launcher = ExecutionSettings.installedLauncher()
        if settings.launcher == nil {
            node.logger.warning(
                "outpost-launch is not installed beside outpostd: tasks start through prlimit and nice (slower)"
            )
        }
        if configuration.lanes.taskCgroups {
            switch TaskCgroups.discover(nodeID: node.identity.nodeID) {
            case .success(let cgroups):
                settings.cgroups = cgroups
                node.logger.info("each task runs in a cgroup of its own", metadata: ["under": "\(cgroups.directory)"])
            case .failure(let reason):
                node.logger.info("tasks are tracked by session, not by cgroup", metadata: ["reason": "\(reason)"])
            }
        }
        let events = node.events
        return LaneSupervisor(
            configuration: configuration.lanes.lanes,
            dependencies: .init(
                store: store,
                publisher: publisher,
                settings: settings,
                tasksDirectory: tasksDirectory,
                workSources: workSources,
                logger: node.logger,
                recordEvent: { name, fields in _ = events.record(name, fields) }
            )
        )
    }
}
