import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import OutpostCore
import OutpostHTTP
import OutpostService
import ServiceLifecycle
import UnixSignals

#if canImport(Glibc)
import Glibc
#endif

/// outpost-coordinator's composition: configuration, logging, the registry, then the HTTP server in one
/// `ServiceGroup`. `READY=1` is sent once the listener is bound.
public enum CoordinatorDaemon {
    public static func run(configurationPath: String, isExplicit: Bool) async -> Int32 {
        let configuration: CoordinatorConfiguration
        do {
            configuration = try CoordinatorConfigurationLoader.load(path: configurationPath, isExplicit: isExplicit)
        } catch {
            StandardError.write(line: "outpost-coordinator: configuration error: \(error)")
            return ConfigurationError.exitStatus
        }
        let levelControl = LogLevelControl(configuration.logLevel)
        var environment: [String: String] = [:]
        if let stream = getenv("JOURNAL_STREAM") { environment["JOURNAL_STREAM"] = String(cString: stream) }
        LogDestination.detect(environment: environment).bootstrap(
            identifier: "outpost-coordinator",
            levelControl: levelControl
        )
        let logger = Logger(label: "outpost-coordinator")
        let notifier = SystemdNotifier()

        let registry: ClientRegistry
        let project: ProjectStore
        let apiKey: String
        do {
            try StateDirectory.prepare(configuration.stateDirectory)
            let (key, created) = try AdminKeyFile.loadOrCreate(configuration.resolvedAPIKeyFile)
            apiKey = key
            if created {
                logger.notice("made the admin API key", metadata: ["file": "\(configuration.resolvedAPIKeyFile)"])
            }
            registry = try ClientRegistry(
                path: configuration.registryPath,
                offlineGrace: Double(configuration.offlineGraceSeconds),
                checkinInterval: Double(configuration.checkinIntervalSeconds)
            )
            project = try ProjectStore(
                registry: registry,
                settings: configuration.projectSettings,
                directories: ProjectDirectories(stateDirectory: configuration.stateDirectory)
            )
        } catch {
            logger.critical("cannot use the state directory: \(error)")
            return StateDirectoryError.exitStatus
        }

        do {
            let adminID = try await registry.adminUser(name: "admin")
            let routes = CoordinatorRoutes(
                registry: registry,
                project: project,
                apiKey: apiKey,
                adminUserID: adminID,
                maximumBodyBytes: configuration.maximumBodyBytes
            )
            let server = try serverBuilder(configuration)
            let url = configuration.url
            let application = Application(
                router: routes.router(),
                server: server,
                configuration: .init(
                    address: .hostname(configuration.listenHost, port: configuration.listenPort),
                    serverName: "outpost-coordinator",
                    availableConnectionsDelegate: MaximumAvailableConnections(configuration.maximumConnections)
                ),
                onServerRunning: { channel in
                    let port = channel.localAddress?.port ?? configuration.listenPort
                    notifier.ready(status: "Serving \(url)")
                    logger.notice(
                        "outpost-coordinator is ready",
                        metadata: ["port": "\(port)", "url": "\(url)", "version": "\(OutpostVersion.version)"]
                    )
                },
                logger: logger
            )
            var group = ServiceGroupConfiguration(
                services: [application],
                gracefulShutdownSignals: [.sigterm],
                cancellationSignals: [.sigint],
                logger: logger
            )
            group.maximumGracefulShutdownDuration = .seconds(10)
            try await ServiceGroup(configuration: group).run()
        } catch is CancellationError {
        } catch {
            logger.critical("outpost-coordinator stopped on an error: \(error)")
            return 1
        }
        notifier.stopping()
        logger.notice("outpost-coordinator stopped")
        return 0
    }

    /// HTTP/1.1 (over TLS when configured) with the request deadline that stops slow clients: every connection must
    /// deliver a whole request within `request_timeout`.
    public static func serverBuilder(_ configuration: CoordinatorConfiguration) throws -> HTTPServerBuilder {
        let timeout = TimeAmount.seconds(Int64(configuration.requestTimeoutSeconds))
        let http = HTTPServerBuilder.http1(
            configuration: .init(
                additionalChannelHandlers: [RequestTimeoutHandler(timeout: timeout), ExpectContinueHandler()],
                idleTimeout: timeout
            )
        )
        guard let certificate = configuration.tlsCertificate, let key = configuration.tlsKey else { return http }
        return try .tls(
            http,
            tlsConfiguration: try TLSSettings.server(
                certificate: certificate,
                key: key,
                adminCA: configuration.tlsAdminCA
            )
        )
    }
}
