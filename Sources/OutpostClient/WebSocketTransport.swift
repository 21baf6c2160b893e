import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOWebSocket

/// A node's remote listener: JSON-RPC messages as WebSocket text messages over TLS, at `/api/websocket`.
///
/// Built on SwiftNIO's own TLS, HTTP upgrade and WebSocket handlers, with a blocking face for `ControlClient`: the
/// event loop delivers whole messages into an inbox, and the caller's thread waits on it.
final class WebSocketTransport: ControlTransport {
    let endpoint: String
    private let channel: any Channel
    private let inbox: WebSocketInbox
    private let timeoutSeconds: Double?

    /// The largest single message accepted from the node (a snapshot of a big state tree stays well under).
    static let maximumMessageBytes = 256 << 20

    /// Connects, completes the TLS handshake and the WebSocket upgrade, or says why not.
    init(endpoint remote: RemoteEndpoint, timeoutSeconds: Double?) throws(ControlClientError) {
        endpoint = remote.description
        self.timeoutSeconds = timeoutSeconds
        let inbox = WebSocketInbox(remote: remote)
        self.inbox = inbox
        let sslContext: NIOSSLContext
        do {
            sslContext = try NIOSSLContext(configuration: remote.tlsConfiguration())
        } catch {
            throw ControlClientError(
                code: .io,
                message: "cannot read the certificate authorities in \(remote.caFile ?? "the system's store"): \(error)"
            )
        }
        let serverName = remote.isIPAddress ? nil : remote.host
        let authority = remote.authority
        let bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.milliseconds(Int64((timeoutSeconds ?? 30) * 1000)))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        NIOSSLClientHandler(context: sslContext, serverHostname: serverName)
                    )
                    let upgrader = NIOWebSocketClientUpgrader(
                        maxFrameSize: Self.maximumMessageBytes,
                        upgradePipelineHandler: { channel, _ in
                            channel.eventLoop.makeCompletedFuture {
                                try channel.pipeline.syncOperations.addHandlers(
                                    NIOWebSocketFrameAggregator(
                                        minNonFinalFragmentSize: 0,
                                        maxAccumulatedFrameCount: 1 << 16,
                                        maxAccumulatedFrameSize: Self.maximumMessageBytes
                                    ),
                                    WebSocketInboxHandler(inbox: inbox)
                                )
                                inbox.open()
                            }
                        }
                    )
                    try channel.pipeline.syncOperations.addHTTPClientHandlers(
                        withClientUpgrade: (
                            upgraders: [upgrader],
                            completionHandler: { context in
                                context.pipeline.removeHandler(name: UpgradeRequestHandler.name, promise: nil)
                            }
                        )
                    )
                    try channel.pipeline.syncOperations.addHandler(
                        UpgradeRequestHandler(authority: authority, inbox: inbox),
                        name: UpgradeRequestHandler.name
                    )
                }
            }
        do {
            channel = try bootstrap.connect(host: remote.host, port: remote.port).wait()
        } catch {
            throw Self.connectError(error, remote: remote)
        }
        try inbox.waitUntilOpen(timeoutSeconds: timeoutSeconds)
    }

    deinit {
        channel.close(promise: nil)
    }

    private static func connectError(_ error: any Error, remote: RemoteEndpoint) -> ControlClientError {
        if let failure = remote.connectionFailure(error) { return failure }
        if case .connectTimeout? = error as? ChannelError {
            return ControlClientError(code: .timedOut, message: "no answer from \(remote) in time")
        }
        return ControlClientError(code: .io, message: "cannot connect to \(remote): \(error)")
    }

    func send(message: [UInt8]) throws(ControlClientError) {
        let frame = WebSocketFrame(
            fin: true,
            opcode: .text,
            maskKey: .random(),
            data: channel.allocator.buffer(bytes: message)
        )
        do {
            try channel.writeAndFlush(frame).wait()
        } catch {
            throw inbox.failure
                ?? ControlClientError(
                    code: .connectionClosed,
                    message: "cannot send to \(endpoint): \(error)"
                )
        }
    }

    /// Sends the bytes as one text message: WebSocket frames its messages itself.
    func sendRaw(_ bytes: [UInt8]) throws(ControlClientError) {
        try send(message: bytes)
    }

    func receiveMessage() throws(ControlClientError) -> [UInt8] {
        try inbox.next(timeoutSeconds: timeoutSeconds)
    }
}

/// Sends the upgrade request once the connection is up; any HTTP answer that reaches it was not an upgrade.
private final class UpgradeRequestHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart
    static let name = "outpost-websocket-upgrade-request"

    let authority: String
    let inbox: WebSocketInbox

    init(authority: String, inbox: WebSocketInbox) {
        self.authority = authority
        self.inbox = inbox
    }

    func channelActive(context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: authority)
        headers.add(name: "Content-Length", value: "0")
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/api/websocket", headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head(let head) = unwrapInboundIn(data) {
            inbox.end(
                ControlClientError(
                    code: .protocolViolation,
                    message: "\(inbox.endpoint) answered HTTP \(head.status.code) instead of a WebSocket upgrade: "
                        + "is it an outpostd remote listener?"
                )
            )
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        inbox.end(inbox.describe(error))
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        inbox.end(
            ControlClientError(
                code: .connectionClosed,
                message: "\(inbox.endpoint) closed the connection before the WebSocket upgrade"
            )
        )
        context.fireChannelInactive()
    }
}

/// After the upgrade: whole messages into the inbox, pongs for pings, and the close handshake.
private final class WebSocketInboxHandler: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    let inbox: WebSocketInbox

    init(inbox: WebSocketInbox) {
        self.inbox = inbox
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .text, .binary:
            inbox.deliver(Array(frame.unmaskedData.readableBytesView))
        case .ping:
            let pong = WebSocketFrame(fin: true, opcode: .pong, maskKey: .random(), data: frame.unmaskedData)
            context.writeAndFlush(wrapOutboundOut(pong), promise: nil)
        case .connectionClose:
            inbox.end(ControlClientError(code: .connectionClosed, message: "\(inbox.endpoint) closed the connection"))
            context.close(promise: nil)
        default:
            break
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        inbox.end(inbox.describe(error))
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        inbox.end(ControlClientError(code: .connectionClosed, message: "\(inbox.endpoint) closed the connection"))
        context.fireChannelInactive()
    }

}
