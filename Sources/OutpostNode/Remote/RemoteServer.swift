import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOSSL
import OutpostHTTP
import OutpostRPC
import OutpostState
import ServiceLifecycle
import Synchronization

/// The remote listener: the control API's JSON-RPC messages over WebSocket at `/api/websocket` and files at
/// `/v1/files/` (`FileTransferRoutes`), on TLS only, one Hummingbird application per configured address (all sharing
/// one connection limit).
///
/// Each WebSocket message carries one JSON-RPC message (or batch) and each answer goes back as one text message;
/// `subscribeState` pushes its notifications the same way, beside the answers. A connection starts signed out
/// (`AuthMethods.admission`). Bounded like the Unix socket: messages up to `[control] max_message_bytes` (a bigger
/// frame or message closes the connection with 1009), connections up to `[remote] max_connections`, and every HTTP
/// request head within `request_timeout` (slowloris clients lose their own connection only).
enum RemoteServer {
    /// The applications to run as services; empty when `[remote] listen` is.
    static func make(
        configuration: NodeConfiguration,
        dispatcher: RPCDispatcher<ControlSession>,
        files: FileTransferRoutes,
        logger: Logger
    ) throws -> [any Service] {
        let remote = configuration.remote
        guard remote.isEnabled, let certificate = remote.certificate, let key = remote.privateKey else { return [] }
        let tls = try TLSSettings.server(certificate: certificate, key: key)
        let maximumMessageBytes = configuration.control.maxMessageBytes
        let router = Router(context: RemoteRequestContext.self)
        let connections = ConnectionIDs()
        let allowedOrigins = Set(remote.allowedOrigins)
        router.ws(
            "/api/websocket",
            shouldUpgrade: { request, _ in
                // Every Origin header counts: a second one must not hide a browser's behind a program's.
                for origin in request.headers[values: .origin]
                where !isAllowed(origin: origin, host: request.head.authority, allowed: allowedOrigins) {
                    throw HTTPError(.forbidden, message: "origin \(origin) is not in [remote] allowed_origins\n")
                }
                return .upgrade([:])
            },
            onUpgrade: { inbound, outbound, context in
                let address = context.requestContext.remoteAddress?.ipAddress ?? "unknown"
                let session = ControlSession(remoteAddress: address, connectionID: connections.next())
                try await serve(
                    inbound.messages(maxSize: maximumMessageBytes),
                    outbound,
                    session: session,
                    dispatcher: dispatcher
                )
            }
        )
        files.add(to: router)
        let webSocket = WebSocketServerConfiguration(maxFrameSize: maximumMessageBytes)
        let timeout = TimeAmount.seconds(Int64(remote.requestTimeoutSeconds))
        let limit = SharedConnectionLimit(remote.maxConnections)
        var services: [any Service] = []
        for (host, port) in remote.listen {
            let responder = router.buildResponder()
            let upgrade = HTTP1WebSocketUpgradeChannel.Configuration(
                http1: .init(
                    additionalChannelHandlers: [RequestTimeoutHandler(timeout: timeout), ExpectContinueHandler()],
                    idleTimeout: timeout
                ),
                ws: webSocket
            )
            let server = HTTPServerBuilder { httpResponder in
                DeadlineChannel(
                    base: try TLSChannel(
                        HTTP1WebSocketUpgradeChannel(
                            responder: httpResponder,
                            webSocketResponder: responder,
                            configuration: upgrade
                        ),
                        tlsConfiguration: tls
                    ),
                    timeout: timeout
                )
            }
            services.append(
                Application(
                    router: router,
                    server: server,
                    configuration: .init(
                        address: .hostname(host, port: port),
                        serverName: "outpostd",
                        availableConnectionsDelegate: limit
                    ),
                    onServerRunning: { channel in
                        logger.notice(
                            "serving the remote API",
                            metadata: ["address": "\(channel.localAddress?.description ?? "\(host):\(port)")"]
                        )
                    },
                    logger: logger
                )
            )
        }
        return services
    }

    /// Whether a WebSocket may be opened for a page from `origin`. Only browsers' origins are checked (`http`,
    /// `https`, or `null` from sandboxed pages and files): a page from another site must not drive the API with its
    /// visitor's network position (cross-site WebSocket hijacking). Programs send no origin or one of their own
    /// (`wss://…`), which proves nothing either way; they still have to sign in. A page served by this listener's own
    /// address is same-origin and allowed.
    static func isAllowed(origin: String, host: String?, allowed: Set<String>) -> Bool {
        let fromBrowser = origin == "null" || origin.hasPrefix("http://") || origin.hasPrefix("https://")
        guard fromBrowser else { return true }
        if allowed.contains(origin) { return true }
        if let host, origin == "https://" + host { return true }
        return false
    }

    /// Answers one connection's messages in order, pushing a state subscription's notifications beside them.
    private static func serve(
        _ inbound: WebSocketInboundMessageStream,
        _ outbound: WebSocketOutboundWriter,
        session: ControlSession,
        dispatcher: RPCDispatcher<ControlSession>
    ) async throws {
        try await withThrowingDiscardingTaskGroup { group in
            defer { group.cancelAll() }
            for try await message in inbound {
                let response: [UInt8]?
                switch message {
                case .text(let text): response = await dispatcher.handle(line: Array(text.utf8), context: session)
                case .binary(let bytes):
                    response = await dispatcher.handle(line: bytes.readableBytesView, context: session)
                }
                if let response { try await outbound.write(.text(String(decoding: response, as: UTF8.self))) }
                if let subscription = session.takeSubscription() {
                    group.addTask { try await push(subscription, to: outbound) }
                }
            }
        }
    }

    /// A subscription's messages as JSON-RPC notifications, one per WebSocket message: `stateUpdate` with one
    /// `[path…, value]` array as params, or `stateSnapshot` after a resync.
    private static func push(_ subscription: StateSubscription, to outbound: WebSocketOutboundWriter) async throws {
        defer { subscription.cancel() }
        while let message = await subscription.next() {
            for notification in message.notifications {
                try await outbound.write(.text(JSONCoding.serializeToString(notification)))
            }
        }
    }
}

/// A TLS child channel with `FirstRequestDeadlineHandler` right after the TLS handler: the handshake and the first
/// request head must arrive within `request_timeout`, which Hummingbird's HTTP handlers cannot enforce because they
/// join the pipeline only later.
struct DeadlineChannel<Base: ServerChildChannel>: ServerChildChannel {
    let base: Base
    let timeout: TimeAmount

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Base.Value> {
        base.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let operations = channel.pipeline.syncOperations
            let tls = try operations.handler(type: NIOSSLServerHandler.self)
            try operations.addHandler(FirstRequestDeadlineHandler(timeout: timeout), position: .after(tls))
            return value
        }
    }

    func handle(value: Base.Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

/// Hummingbird's request context with WebSocket support and the peer's address (for sign-in throttling and logs).
struct RemoteRequestContext: RequestContext, WebSocketRequestContext {
    var coreContext: CoreRequestContextStorage
    let webSocket: WebSocketHandlerReference<Self>
    let remoteAddress: SocketAddress?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        webSocket = .init()
        remoteAddress = source.channel.remoteAddress
    }
}

/// One connection limit for every remote address: Hummingbird's own counts per application.
final class SharedConnectionLimit: AvailableConnectionsDelegate {
    private let maximum: Int
    private let open = Atomic<Int>(0)

    init(_ maximum: Int) {
        self.maximum = maximum
    }

    func connectionOpened() { open.wrappingAdd(1, ordering: .relaxed) }
    func connectionClosed() { open.wrappingSubtract(1, ordering: .relaxed) }
    func isAcceptingNewConnections() -> Bool { open.load(ordering: .relaxed) < maximum }
}

/// Remote connection ids, apart from the Unix socket's (which count from 1) in logs.
private final class ConnectionIDs: Sendable {
    private let counter = Atomic<UInt64>(1 << 32)
    func next() -> UInt64 { counter.wrappingAdd(1, ordering: .relaxed).oldValue }
}
