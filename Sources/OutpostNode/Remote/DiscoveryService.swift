import Logging
import NIOCore
import NIOPosix
import OutpostCrypto
import OutpostRPC
import Synchronization

/// Discovery packets, as accsyn's client API has them: `recvDiscoverPacketAsync` makes a discover id and waits for a UDP
/// packet carrying it; `sendDiscoverPacketAsync` sends that packet to a waiting node. The receiver learns the sender's
/// address and port as they reach it, which is how a node behind NAT finds its public address.
///
/// Packets arrive on UDP sockets bound to the `[remote] listen` addresses and ports (nothing listens without them) and
/// are sent from the same socket, so the port the receiver sees is the sender's. A packet is the line
/// `OUTPOST-DISCOVER 1 <id>`; ids are 128-bit random and unknown ids are dropped. The node never answers a datagram,
/// so the sockets cannot be used to reflect or amplify traffic.
final class DiscoveryService: Sendable {
    static let prefix = "OUTPOST-DISCOVER 1 "

    private struct Waiting {
        var registered: Set<String> = []
        var arrived: [String: (address: String, port: Int)] = [:]
    }

    private let channels: [any Channel]
    private let waiting: Mutex<Waiting>

    private init(channels: [any Channel]) {
        self.channels = channels
        self.waiting = Mutex(Waiting())
    }

    /// Binds a UDP socket on each remote listen address; none when the remote listener is off.
    static func bind(_ remote: NodeConfiguration.Remote, logger: Logger) async throws -> DiscoveryService {
        let box = WaitingBox()
        var channels: [any Channel] = []
        for (host, port) in remote.listen {
            let channel = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .channelOption(.socketOption(.so_reuseaddr), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(DiscoveryHandler(box: box))
                    }
                }
                .bind(host: host, port: port)
                .get()
            channels.append(channel)
        }
        let service = DiscoveryService(channels: channels)
        box.service.withLock { $0 = service }
        if !channels.isEmpty {
            logger.info(
                "discovery packets accepted on UDP",
                metadata: ["addresses": "\(remote.listen.map { "\($0.host):\($0.port)" })"]
            )
        }
        return service
    }

    var isListening: Bool { !channels.isEmpty }
    var defaultPort: Int? { channels.first?.localAddress?.port }

    /// A new discover id, registered before it is handed out so that an early packet is kept.
    func register() -> String {
        let id = Hex.encode(SecretBytes.random(count: 16))
        waiting.withLock { _ = $0.registered.insert(id) }
        return id
    }

    /// Waits up to `timeout` seconds for the packet carrying `id`; the sender's address and port, or nil.
    func wait(for id: String, timeout: Double) async -> (address: String, port: Int)? {
        defer { waiting.withLock { _ = $0.registered.remove(id) } }
        let deadline = ContinuousClock.now + .milliseconds(Int64(timeout * 1000))
        while ContinuousClock.now < deadline, !Task.isCancelled {
            if let found = waiting.withLock({ $0.arrived.removeValue(forKey: id) }) { return found }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return nil
    }

    fileprivate func received(_ text: String, from address: SocketAddress) {
        guard text.hasPrefix(Self.prefix), let ip = address.ipAddress, let port = address.port else { return }
        let id = String(text.dropFirst(Self.prefix.count).prefix { !$0.isWhitespace })
        waiting.withLock { state in
            if state.registered.contains(id), state.arrived[id] == nil { state.arrived[id] = (ip, port) }
        }
    }

    /// Sends the packet for `id` `count` times, 100 ms apart (UDP may lose one), from the listening socket of the
    /// destination's family when there is one, else from a new one.
    func send(id: String, to destination: SocketAddress, count: Int = 3) async throws {
        let payload = ByteBuffer(string: Self.prefix + id + "\n")
        let own = channels.first { $0.localAddress?.protocol == destination.protocol }
        let channel: any Channel
        if let own {
            channel = own
        } else {
            channel = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .bind(host: destination.protocol == .inet6 ? "::" : "0.0.0.0", port: 0)
                .get()
        }
        defer { if own == nil { channel.close(promise: nil) } }
        for attempt in 0..<count {
            if attempt > 0 { try await Task.sleep(for: .milliseconds(100)) }
            try await channel.writeAndFlush(AddressedEnvelope(remoteAddress: destination, data: payload)).get()
        }
    }

    func close() {
        for channel in channels { channel.close(promise: nil) }
    }
}

/// Lets the channel handlers, made before the service exists, reach it.
private final class WaitingBox: Sendable {
    let service = Mutex<DiscoveryService?>(nil)
}

private final class DiscoveryHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    private let box: WaitingBox

    init(box: WaitingBox) {
        self.box = box
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        guard envelope.data.readableBytes <= 256 else { return }
        let text = String(decoding: envelope.data.readableBytesView, as: UTF8.self)
        box.service.withLock { $0 }?.received(text, from: envelope.remoteAddress)
    }
}

/// `recvDiscoverPacketAsync(timeoutSeconds?)` and `sendDiscoverPacketAsync(discoverId, destinationAddress,
/// destinationPort?)`: requests like the file API's, polled with `getRequestStatus`/`getRequestResult`.
enum DiscoveryMethods {
    static let defaultTimeoutSeconds = 30.0

    static func make(discovery: DiscoveryService, registry: RequestRegistry) -> [RPCMethod<ControlSession>] {
        [
            RPCMethod("recvDiscoverPacketAsync", parameters: ["timeoutSeconds"]) { params, session in
                let timeout = try params.optionalDouble("timeoutSeconds", in: 0.1...3600) ?? defaultTimeoutSeconds
                guard discovery.isListening else {
                    throw RPCError(
                        code: RPCError.invalidStateCode,
                        message: "discovery packets arrive on the remote listener's addresses: set [remote] listen"
                    )
                }
                let id = discovery.register()
                let requestId = try await registry.submitNetwork(
                    method: "recvDiscoverPacketAsync",
                    owner: session.caller,
                    summary: ["discoverId": .string(id)]
                ) { () async throws(RPCError) -> JSONValue in
                    guard let sender = await discovery.wait(for: id, timeout: timeout) else {
                        throw RPCError(
                            code: RPCError.operationFailedCode,
                            message: "no discovery packet for \(id) arrived within \(timeout) s"
                        )
                    }
                    return ["address": .string(sender.address), "port": .integer(Int64(sender.port))]
                }
                return ["requestId": .integer(requestId), "discoverId": .string(id)]
            },
            RPCMethod(
                "sendDiscoverPacketAsync",
                parameters: ["discoverId", "destinationAddress", "destinationPort"]
            ) { params, session in
                let id = try params.string("discoverId")
                guard id.utf8.count == 32, Hex.decode(id) != nil else {
                    throw RPCError.invalidParams("discoverId must be the 32 hex digits recvDiscoverPacketAsync gave")
                }
                let host = try params.string("destinationAddress")
                guard
                    let port = try params.optionalInteger("destinationPort", in: 1...65535).map(Int.init)
                        ?? discovery.defaultPort
                else {
                    throw RPCError.invalidParams("destinationPort is needed (this node has no [remote] listen port)")
                }
                let destination: SocketAddress
                do {
                    destination = try SocketAddress(ipAddress: host, port: port)
                } catch {
                    throw RPCError.invalidParams("destinationAddress must be an IPv4 or IPv6 address, not '\(host)'")
                }
                let requestId = try await registry.submitNetwork(
                    method: "sendDiscoverPacketAsync",
                    owner: session.caller,
                    summary: ["discoverId": .string(id), "destination": .string("\(host) \(port)")]
                ) { () async throws(RPCError) -> JSONValue in
                    do {
                        try await discovery.send(id: id, to: destination)
                    } catch {
                        throw RPCError(
                            code: RPCError.operationFailedCode,
                            message: "cannot send to \(host) \(port): \(error)"
                        )
                    }
                    return ["discoverPacketSent": true]
                }
                return ["requestId": .integer(requestId)]
            },
        ]
    }
}
