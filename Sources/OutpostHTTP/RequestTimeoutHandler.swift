import NIOCore
import NIOHTTPTypes

/// Closes a connection that does not deliver a request head within `timeout` of opening or of its last response, or
/// whose body stalls for `timeout`.
///
/// Why: an idle timeout alone lets a slowloris client hold a connection forever by sending one header byte every few
/// seconds. Here the clock runs from the moment the server is ready for a request until its head has arrived, however
/// the bytes trickle in; a slow client loses only its own connection. A body (an upload of a gigabyte) may take longer
/// than that as long as its data keeps coming: each part re-arms the clock.
public final class RequestTimeoutHandler: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = HTTPRequestPart
    public typealias InboundOut = HTTPRequestPart
    public typealias OutboundIn = HTTPResponsePart
    public typealias OutboundOut = HTTPResponsePart

    private var deadline: CloseDeadline

    public init(timeout: TimeAmount) {
        deadline = CloseDeadline(timeout: timeout)
    }

    public func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { deadline.arm(context) }
    }

    public func channelActive(context: ChannelHandlerContext) {
        deadline.arm(context)
        context.fireChannelActive()
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head, .body: deadline.arm(context)
        case .end: deadline.disarm()
        }
        context.fireChannelRead(data)
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { deadline.arm(context) }
        context.write(data, promise: promise)
    }

    public func channelInactive(context: ChannelHandlerContext) {
        deadline.disarm()
        context.fireChannelInactive()
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        deadline.disarm()
    }
}
