import CLinuxShims
import Logging
import NIOCore
import NIOPosix
import OutpostCore
import OutpostRPC
import OutpostState
import ServiceLifecycle
import Synchronization

#if canImport(Glibc)
import Glibc
import OutpostService
#endif

/// Serves the JSON-RPC control API on a Unix stream socket: one JSON object per line each way, the caller's identity
/// taken from `SO_PEERCRED` and attached to every call.
///
/// Bounded everywhere a client could make it grow: at most `max_connections` connections, of which at most
/// `max_connections_per_user` for any one user (one more is told so and closed; root and the daemon's own user are
/// always admitted, so a user who holds every slot cannot lock out the admin), connections idle for
/// `idle_timeout_seconds` closed, at most `max_message_bytes` per line (a longer one gets an error and the connection
/// is closed), and one request at a time per connection, so a client that does not read its answers stalls only
/// itself. Requests that
/// need no wait are answered by `ControlFastPath` on the event loop, under the same rules.
public final class ControlServer: Service, HealthCheck {
    typealias Connection = NIOAsyncChannel<ControlFrame, ControlOutput>
    typealias Accepted = (connection: Connection, caller: CallerIdentity?)

    private let serverChannel: NIOAsyncChannel<Accepted, Never>
    /// The socket file to remove at exit: set only when this process bound it (systemd owns an inherited one).
    private let ownedSocketPath: String?
    private let dispatcher: RPCDispatcher<ControlSession>
    private let settings: NodeSettings
    /// Fixed when the listener is bound: every connection's decoder enforces it.
    private let maximumLineLength: Int
    private let logger: Logger
    private let connectionCount = Atomic<Int>(0)
    private let quota = ConnectionQuota()
    private let nextConnectionID = Atomic<UInt64>(1)

    public let healthCheckName = "control server"

    private init(
        serverChannel: NIOAsyncChannel<Accepted, Never>,
        ownedSocketPath: String?,
        dispatcher: RPCDispatcher<ControlSession>,
        settings: NodeSettings,
        logger: Logger
    ) {
        self.serverChannel = serverChannel
        self.ownedSocketPath = ownedSocketPath
        self.dispatcher = dispatcher
        self.settings = settings
        self.maximumLineLength = settings.current.control.maxMessageBytes
        self.logger = logger
    }

    /// Binds the listener. After this returns, connections are queued by the kernel even before `run()` accepts
    /// them, which is why `READY=1` may be sent as soon as every listener is bound.
    public static func bind(
        _ listener: ControlListener,
        dispatcher: RPCDispatcher<ControlSession>,
        settings: NodeSettings,
        logger: Logger
    ) async throws -> ControlServer {
        let maximumLineLength = settings.current.control.maxMessageBytes
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 256)
        let initializer: @Sendable (any Channel) -> EventLoopFuture<Accepted> = { channel in
            channel.eventLoop.makeCompletedFuture {
                let caller = try? channel.pipeline.syncOperations.withUnsafeTransportIfAvailable(
                    of: NIOBSDSocket.Handle.self
                ) { fd in
                    peerIdentity(fd)
                }
                let idleTimeout = TimeAmount.seconds(Int64(settings.current.control.idleTimeoutSeconds))
                try channel.pipeline.syncOperations.addHandlers(
                    IdleStateHandler(readTimeout: idleTimeout),
                    ByteToMessageHandler(JSONLineFrameDecoder(maximumLineLength: maximumLineLength)),
                    ControlFastPath(dispatcher: dispatcher)
                )
                let connection = try Connection(wrappingChannelSynchronously: channel)
                return (connection, caller ?? nil)
            }
        }
        switch listener {
        case .inherited(let socket):
            let channel = try await bootstrap.bind(socket.fd, childChannelInitializer: initializer)
            return ControlServer(
                serverChannel: channel,
                ownedSocketPath: nil,
                dispatcher: dispatcher,
                settings: settings,
                logger: logger
            )
        case .path(let path, let mode):
            try ControlListener.prepareSocketPath(path)
            let channel = try await bootstrap.bind(unixDomainSocketPath: path, childChannelInitializer: initializer)
            guard chmod(path, mode_t(mode)) == 0 else {
                let reason = String(cString: strerror(errno))
                try? await channel.channel.close()
                unlink(path)
                throw ControlListenerError(message: "cannot set mode \(String(mode, radix: 8)) on \(path): \(reason)")
            }
            return ControlServer(
                serverChannel: channel,
                ownedSocketPath: path,
                dispatcher: dispatcher,
                settings: settings,
                logger: logger
            )
        }
    }

    /// The kernel's word on who connected.
    private static func peerIdentity(_ fd: NIOBSDSocket.Handle) -> CallerIdentity? {
        var pid: pid_t = 0
        var uid: uid_t = 0
        var gid: gid_t = 0
        guard outpost_peer_credentials(fd, &pid, &uid, &gid) == 0 else { return nil }
        return CallerIdentity(uid: uid, gid: gid, pid: pid)
    }

    public var connections: Int { connectionCount.load(ordering: .relaxed) }

    public func run() async throws {
        defer {
            if let ownedSocketPath { unlink(ownedSocketPath) }
        }
        let serverChannel = self.serverChannel
        try await withGracefulShutdownHandler {
            try await serverChannel.executeThenClose { inbound in
                try await withThrowingDiscardingTaskGroup { group in
                    for try await accepted in inbound {
                        group.addTask { await self.serve(accepted) }
                    }
                }
            }
        } onGracefulShutdown: {
            // Stop accepting; each connection finishes the request it is on, then closes (see `serve`).
            serverChannel.channel.close(promise: nil)
        }
    }

    private func serve(_ accepted: Accepted) async {
        connectionCount.wrappingAdd(1, ordering: .relaxed)
        defer {
            // When the last connection closes, hand the heap that bursts of connections used back to the kernel:
            // glibc keeps freed memory in per-thread arenas otherwise, and an idle daemon should be small.
            if connectionCount.wrappingSubtract(1, ordering: .relaxed).newValue == 0 { outpost_release_free_memory() }
        }
        let connectionID = nextConnectionID.wrappingAdd(1, ordering: .relaxed).oldValue
        let limits = settings.current.control
        let channel = accepted.connection.channel
        await withGracefulShutdownHandler {
            await converse(accepted, connectionID: connectionID, limits: limits)
        } onGracefulShutdown: {
            // The request in progress may finish; a connection still open after the grace (its client stopped
            // reading, so an answer cannot be written) is closed rather than holding the stop.
            channel.eventLoop.scheduleTask(in: Self.shutdownGrace) { channel.close(promise: nil) }
        }
    }

    /// How long a stop waits for a connection's request in progress before it closes the connection.
    static let shutdownGrace = TimeAmount.seconds(5)

    /// Admits the connection (credentials, connection limit), then answers its lines until it closes or the daemon
    /// stops.
    private func converse(
        _ accepted: Accepted,
        connectionID: UInt64,
        limits: NodeConfiguration.Control
    ) async {
        do {
            try await accepted.connection.executeThenClose { inbound, outbound in
                guard let caller = accepted.caller else {
                    try await outbound.write(.push(errorLine(.internalError("cannot read the caller's credentials"))))
                    return
                }
                let privileged = caller.uid == 0 || caller.uid == getuid()
                if let refusal = quota.admit(uid: caller.uid, privileged: privileged, limits: limits) {
                    logger.warning(
                        "connection refused: limit reached",
                        metadata: ["user": "\(caller.userName)", "reason": "\(refusal)"]
                    )
                    try await outbound.write(.push(errorLine(.limitExceeded(refusal + "; try again later"))))
                    return
                }
                defer { quota.release(uid: caller.uid, privileged: privileged) }
                let session = ControlSession(caller: caller, connectionID: connectionID)
                try await outbound.write(.admit(session))
                try await withThrowingDiscardingTaskGroup { group in
                    defer { group.cancelAll() }
                    for try await frame in inbound.cancelOnGracefulShutdown() {
                        let reply = await answer(frame, session: session)
                        try await outbound.write(.reply(reply?.line))
                        guard let reply else { continue }
                        // After subscribeState's snapshot went out: push the updates that follow, beside the requests.
                        if let subscription = session.takeSubscription() {
                            try await outbound.write(.streaming)
                            group.addTask { try await Self.push(subscription, to: outbound) }
                        }
                        if reply.closesConnection { return }
                    }
                }
            }
        } catch {
            logger.debug(
                "connection ended with an error",
                metadata: ["connection": "\(connectionID)", "error": "\(error)"]
            )
        }
    }

    /// The line to send for one frame from the client, or nil for a notification (no answer).
    private func answer(
        _ frame: ControlFrame,
        session: ControlSession
    ) async -> (line: ByteBuffer, closesConnection: Bool)? {
        switch frame {
        case .line(let line):
            guard let response = await dispatcher.handle(line: line.readableBytesView, context: session)
            else {
                return nil
            }
            var buffer = ByteBuffer()
            buffer.reserveCapacity(response.count + 1)
            buffer.writeBytes(response)
            buffer.writeInteger(UInt8(ascii: "\n"))
            return (buffer, false)
        case .oversized:
            logger.warning(
                "closing a connection that sent an oversized message",
                metadata: ["connection": "\(session.connectionID)", "user": "\(session.caller.userName)"]
            )
            return (
                errorLine(
                    .limitExceeded(
                        "message longer than \(maximumLineLength) bytes (max_message_bytes); closing the connection"
                    )
                ),
                true
            )
        }
    }

    /// Sends a subscription's messages as JSON-RPC notifications until the connection ends: `stateUpdate` with one
    /// `[path…, value]` array as params per update, or `stateSnapshot` with the whole state after a resync. The
    /// updates of one batch go out as one write.
    private static func push(
        _ subscription: StateSubscription,
        to outbound: NIOAsyncChannelOutboundWriter<ControlOutput>
    ) async throws {
        defer { subscription.cancel() }
        while let message = await subscription.next() {
            var buffer = ByteBuffer()
            for notification in message.notifications {
                buffer.writeBytes(JSONCoding.serialize(notification))
                buffer.writeInteger(UInt8(ascii: "\n"))
            }
            try await outbound.write(.push(buffer))
        }
    }

    private func errorLine(_ error: RPCError) -> ByteBuffer {
        var buffer = ByteBuffer(bytes: JSONCoding.serialize(RPCResponse(id: .null, outcome: .failure(error)).json))
        buffer.writeInteger(UInt8(ascii: "\n"))
        return buffer
    }

    /// Healthy when the listening channel is open, its event loop runs a task, and the dispatcher answers `echo`.
    /// A wedged loop never answers, so the watchdog stops being fed and systemd restarts the daemon.
    public func checkHealth() async -> String? {
        let channel = serverChannel.channel
        guard channel.isActive else { return "the control socket is closed" }
        do {
            try await channel.eventLoop.submit {}.get()
        } catch {
            return "the event loop refused work: \(error)"
        }
        let probe = ControlSession(caller: UnixUser.current, connectionID: 0)
        let outcome = await dispatcher.call(
            RPCRequest(id: .null, method: "echo", params: ["text": "health"]),
            context: probe
        )
        guard case .success(.string("health")) = outcome else { return "the dispatcher did not answer echo" }
        return nil
    }
}
