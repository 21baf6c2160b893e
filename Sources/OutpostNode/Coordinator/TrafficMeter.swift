import OutpostCheckin
import OutpostCore
import OutpostTransfers

/// The check-in's `in`/`out` figures from the bytes every transfer passes through the bandwidth limiter: the rate
/// since the previous check-in (`s`), the average since outpostd started (`s_a`) and the total (`s_t`).
struct TrafficMeter {
    let limiter: BandwidthLimiter
    private let started = ContinuousClock.now
    private var previous: [TransferDirection: (bytes: Int64, at: ContinuousClock.Instant)] = [:]

    init(limiter: BandwidthLimiter) {
        self.limiter = limiter
    }

    mutating func figures(_ direction: TransferDirection) -> TrafficFigures {
        let now = ContinuousClock.now
        let total = limiter.totalBytes(direction)
        let last = previous[direction] ?? (0, started)
        previous[direction] = (total, now)
        return TrafficFigures(
            current: Double(total - last.bytes) / max((now - last.at).inSeconds, 0.001),
            average: Double(total) / max((now - started).inSeconds, 0.001),
            total: Double(total)
        )
    }
}
