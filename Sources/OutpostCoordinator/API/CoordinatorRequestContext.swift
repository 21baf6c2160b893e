import Hummingbird
import NIOCore
import NIOSSL

/// Hummingbird's request context plus the peer's address, which the coordinator stamps as a client's `wan_ip`.
public struct CoordinatorRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?
    let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
        channel = source.channel
    }

    /// The connection presented a TLS client certificate, which the handshake verified against `[tls] admin_ca`
    /// (without that setting none is asked for; over plain HTTP there is none).
    var hasAdminCertificate: Bool {
        get async { (try? await channel.nioSSL_peerCertificate().get()) != nil }
    }

    /// The peer's IP address as text ("" when unknown, as for a Unix socket).
    var peerAddress: String { remoteAddress?.ipAddress ?? "" }
}
