import Hummingbird
import NIOCore

/// Hummingbird's request context plus the peer's address, which the coordinator stamps as a client's `wan_ip`.
public struct CoordinatorRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }

    /// The peer's IP address as text ("" when unknown, as for a Unix socket).
    var peerAddress: String { remoteAddress?.ipAddress ?? "" }
}
