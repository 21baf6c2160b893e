import NIOCore
import OutpostRPC

/// What the connection's task writes: a reply, a message of its own, or the word that the connection was admitted.
enum ControlOutput: Sendable {
    /// The connection passed its checks: from now on the fast path may answer for `ControlSession`.
    case admit(ControlSession)
    /// The answer to the oldest frame handed to the task, or nil when that frame needed none (a notification).
    case reply(ByteBuffer?)
    /// A line that answers no frame: a state-stream notification, or why the connection is refused.
    case push(ByteBuffer)
    /// The connection now carries a state stream: it is not idle however long its client stays silent.
    case streaming
}

/// Answers, on the event loop that read it, every request that can be answered without waiting (a small `ls`, a
/// finished request's result, `echo`: `RPCDispatcher.answerImmediately`), and hands the others to the connection's
/// task as before.
///
/// Why: each line the task handles costs two thread wake-ups (the event loop wakes the task, the task wakes the
/// event loop to write), which on a small VM were most of a small request's cost. Answers stay in order: a line is
/// answered here only when every line handed to the task before it has been answered (the task's replies pass
/// through this handler on their way out, and are counted). A client that stops reading its answers is not answered
/// here either: once the socket is not writable, lines go to the task, whose writes wait for the client, and the
/// connection stops being read, as before.
///
/// It also closes an idle connection when the `IdleStateHandler` before it reports that nothing was read for the
/// idle timeout: idle means no request waiting for its answer and no state stream (a client waiting on a long
/// `getRequestResult`, or watching the state, is busy, not idle). Idle connections would otherwise hold their user's
/// connection slots for ever.
final class ControlFastPath: ChannelDuplexHandler {
    typealias InboundIn = ControlFrame
    typealias InboundOut = ControlFrame
    typealias OutboundIn = ControlOutput
    typealias OutboundOut = ByteBuffer

    private let dispatcher: RPCDispatcher<ControlSession>
    /// Nil until the task admitted the connection (credentials read, under the connection limit).
    private var session: ControlSession?
    /// Lines handed to the task and not yet answered.
    private var handedOver = 0
    /// Set once the connection carries a state stream.
    private var streaming = false

    init(dispatcher: RPCDispatcher<ControlSession>) {
        self.dispatcher = dispatcher
    }

    /// Requests that can be answered at once are a few dozen bytes; a longer line (a task with its environment, a
    /// configuration) goes to the task without being parsed here first, so it is parsed once, off the event loop.
    static let maximumImmediateLineBytes = 4096

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if handedOver == 0, context.channel.isWritable, let session, case .line(let line) = unwrapInboundIn(data),
            line.readableBytes <= Self.maximumImmediateLineBytes,
            let answer = dispatcher.answerImmediately(line: line.readableBytesView, context: session)
        {
            var buffer = context.channel.allocator.buffer(capacity: answer.count + 1)
            buffer.writeBytes(answer)
            buffer.writeInteger(UInt8(ascii: "\n"))
            context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
            return
        }
        handedOver += 1
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .admit(let admitted):
            session = admitted
            promise?.succeed()
        case .reply(let line):
            handedOver -= 1
            if let line { context.write(wrapOutboundOut(line), promise: promise) } else { promise?.succeed() }
        case .push(let line):
            context.write(wrapOutboundOut(line), promise: promise)
        case .streaming:
            streaming = true
            promise?.succeed()
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read {
            if handedOver == 0, !streaming { context.close(promise: nil) }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }
}
