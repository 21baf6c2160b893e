import NIOCore

/// A connection's close-at deadline, for the channel handlers that enforce one: `arm` (re)starts the clock, `disarm`
/// stops it. Used on the event loop only, as channel handlers are.
struct CloseDeadline {
    let timeout: TimeAmount
    private var scheduled: Scheduled<Void>?

    init(timeout: TimeAmount) {
        self.timeout = timeout
    }

    var isArmed: Bool { scheduled != nil }

    mutating func arm(_ context: ChannelHandlerContext) {
        disarm()
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        scheduled = context.eventLoop.scheduleTask(in: timeout) {
            loopBound.value.close(promise: nil)
        }
    }

    mutating func disarm() {
        scheduled?.cancel()
        scheduled = nil
    }
}
