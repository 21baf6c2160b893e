import NIOCore

/// Closes a connection whose TLS handshake and first request head have not both arrived within `timeout` of
/// connecting. Sits right after the TLS handler, on decrypted bytes.
///
/// Why: behind TLS, Hummingbird's HTTP timeouts (`RequestTimeoutHandler`, the idle timeout) never closed a client that
/// connected and sent nothing, half a TLS hello, or one byte of a request head (measured: such connections stayed
/// open indefinitely), so any such client could hold a connection slot for ever.
/// A request head ends with an empty line; after it, the HTTP handlers' own deadlines take over.
public final class FirstRequestDeadlineHandler: ChannelInboundHandler, RemovableChannelHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = ByteBuffer

    private var deadline: CloseDeadline
    /// How many bytes of "\r\n\r\n" the stream has just matched.
    private var matched = 0
    private var satisfied = false

    public init(timeout: TimeAmount) {
        deadline = CloseDeadline(timeout: timeout)
    }

    public func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { deadline.arm(context) }
    }

    public func channelActive(context: ChannelHandlerContext) {
        if !deadline.isArmed, !satisfied { deadline.arm(context) }
        context.fireChannelActive()
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if !satisfied {
            let terminator: [UInt8] = [13, 10, 13, 10]
            for byte in unwrapInboundIn(data).readableBytesView {
                matched = byte == terminator[matched] ? matched + 1 : (byte == 13 ? 1 : 0)
                if matched == 4 {
                    satisfied = true
                    deadline.disarm()
                    break
                }
            }
        }
        context.fireChannelRead(data)
    }

    public func channelInactive(context: ChannelHandlerContext) {
        deadline.disarm()
        context.fireChannelInactive()
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        deadline.disarm()
    }
}
