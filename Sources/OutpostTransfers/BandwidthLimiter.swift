import OutpostCore
import Synchronization

/// The node's transfer limits, named as accsyn's client API's `updateBandwidthLimits` names them. Incoming is what the node
/// downloads, outgoing what it uploads; rates are in kilobits per second (1 kbit = 1000 bits).
public struct BandwidthLimits: Sendable, Equatable {
    public var incomingLimitActive = false
    public var incomingRateLimit: Double = 0
    /// Downloads at once across the node; 0 means no cap.
    public var incomingMaxConnections = 0
    /// Unused outgoing budget may be added to the incoming rate (when outgoing is limited).
    public var borrowOutgoing = false
    public var outgoingLimitActive = false
    public var outgoingRateLimit: Double = 0
    /// Unused incoming budget may be added to the outgoing rate (when incoming is limited).
    public var borrowIncoming = false

    public init() {}

    /// Bytes per second for a direction, or nil when it is not limited.
    func bytesPerSecond(_ direction: TransferDirection) -> Double? {
        switch direction {
        case .incoming: incomingLimitActive && incomingRateLimit > 0 ? incomingRateLimit * 125 : nil
        case .outgoing: outgoingLimitActive && outgoingRateLimit > 0 ? outgoingRateLimit * 125 : nil
        }
    }

    func borrows(_ direction: TransferDirection) -> Bool {
        switch direction {
        case .incoming: borrowOutgoing
        case .outgoing: borrowIncoming
        }
    }
}

public enum TransferDirection: Sendable {
    case incoming, outgoing

    var other: TransferDirection { self == .incoming ? .outgoing : .incoming }
}

/// The limiter's time: the system's, or a test's own so that its accounting can be checked exactly.
public struct LimiterClock: Sendable {
    public var now: @Sendable () -> ContinuousClock.Instant
    public var sleep: @Sendable (Duration) async throws -> Void

    public init(
        now: @escaping @Sendable () -> ContinuousClock.Instant,
        sleep: @escaping @Sendable (Duration) async throws -> Void
    ) {
        self.now = now
        self.sleep = sleep
    }

    public static let system = LimiterClock(now: { .now }, sleep: { try await Task.sleep(for: $0) })
}

/// Token buckets for both directions, shared by every transfer of the node.
///
/// A transfer takes its bytes after it moved them and sleeps until the debt it found, its own bytes included, is paid,
/// so the long-run rate is the limit whatever the chunk sizes and concurrent transfers take turns; a bucket holds at
/// most a tenth of a second of budget, so an idle spell does not turn into a burst. Borrowing lets a direction draw on
/// the other's bucket while that one is idle.
public final class BandwidthLimiter: Sendable {
    private struct Bucket {
        var tokens: Double = 0
        var updated: ContinuousClock.Instant
    }

    private struct State {
        var limits = BandwidthLimits()
        var buckets: [TransferDirection: Bucket] = [:]
        var incomingConnections = 0
        var paused = false
        /// Counts `update`s, so that a transfer waiting under old limits stops waiting.
        var generation = 0
        var totals: [TransferDirection: Int64] = [.incoming: 0, .outgoing: 0]
    }

    private let state = Mutex(State())
    private let clock: LimiterClock
    static let burstSeconds = 0.1

    public init(_ limits: BandwidthLimits = BandwidthLimits(), clock: LimiterClock = .system) {
        self.clock = clock
        update(limits)
    }

    public var limits: BandwidthLimits {
        state.withLock { $0.limits }
    }

    /// Applies new limits at once, to transfers under way too.
    public func update(_ limits: BandwidthLimits) {
        let now = clock.now()
        state.withLock { state in
            state.limits = limits
            state.generation += 1
            for direction in [TransferDirection.incoming, .outgoing] {
                state.buckets[direction] = Bucket(updated: now)
            }
        }
    }

    /// While paused (the coordinator disabled the node), transfers under way stall at their next chunk and new ones
    /// are refused as transient errors: they resume, from where they were, once it is lifted.
    public var isPaused: Bool {
        state.withLock { $0.paused }
    }

    /// Bytes moved in `direction` since this limiter was made (the check-in's `in`/`out` totals).
    public func totalBytes(_ direction: TransferDirection) -> Int64 {
        state.withLock { $0.totals[direction, default: 0] }
    }

    public func setPaused(_ paused: Bool) {
        state.withLock { $0.paused = paused }
    }

    /// Accounts for `count` bytes moved in `direction`, sleeping as long as the direction's budget is overdrawn or
    /// transfers are paused.
    ///
    /// Each call waits out its own place in the queue: the debt as it stood right after its bytes were taken. Later
    /// arrivals wait behind it and never overtake it. (Re-reading the shared bucket on waking let whichever transfer
    /// happened to wake first take the next budget again: one of eight equal downloads ended 18 % before the others.)
    public func consume(_ count: Int, _ direction: TransferDirection) async throws {
        while isPaused { try await clock.sleep(.milliseconds(250)) }
        let (debt, generation) = state.withLock { state -> (Double, Int) in
            state.totals[direction, default: 0] += Int64(count)
            guard state.limits.bytesPerSecond(direction) != nil else { return (0, state.generation) }
            let now = clock.now()
            Self.refill(&state, direction, now: now)
            state.buckets[direction]!.tokens -= Double(count)
            return (Self.settle(&state, direction, now: now), state.generation)
        }
        guard debt > 0 else { return }
        let deadline = clock.now() + .seconds(debt)
        while true {
            let remaining = deadline - clock.now()
            guard remaining > .zero else { return }
            try await clock.sleep(min(remaining, .milliseconds(250)))
            // New limits reset the buckets: the debt taken under the old ones is forgiven.
            if state.withLock({ $0.generation }) != generation { return }
        }
    }

    /// Seconds to wait until the direction is out of debt.
    ///
    /// Borrowing, when the other direction is idle (its bucket not in debt): the debt is spread over both buckets in
    /// proportion to their rates, so both refill to zero at the same moment and the wait is the debt over the two
    /// rates together. If the other direction starts meanwhile, it waits behind that debt like any later arrival.
    private static func settle(
        _ state: inout State,
        _ direction: TransferDirection,
        now: ContinuousClock.Instant
    ) -> Double {
        guard let rate = state.limits.bytesPerSecond(direction) else { return 0 }
        let tokens = state.buckets[direction]!.tokens
        guard tokens < 0 else { return 0 }
        guard state.limits.borrows(direction), let otherRate = state.limits.bytesPerSecond(direction.other) else {
            return -tokens / rate
        }
        refill(&state, direction.other, now: now)
        let otherTokens = state.buckets[direction.other]!.tokens
        guard otherTokens >= 0 else { return -tokens / rate }  // the other direction uses its budget itself
        let combined = tokens + otherTokens
        guard combined < 0 else {
            state.buckets[direction]!.tokens = 0
            state.buckets[direction.other]!.tokens = combined
            return 0
        }
        state.buckets[direction]!.tokens = combined * rate / (rate + otherRate)
        state.buckets[direction.other]!.tokens = combined * otherRate / (rate + otherRate)
        return -combined / (rate + otherRate)
    }

    private static func refill(_ state: inout State, _ direction: TransferDirection, now: ContinuousClock.Instant) {
        guard let rate = state.limits.bytesPerSecond(direction) else { return }
        var bucket = state.buckets[direction]!
        bucket.tokens = min(bucket.tokens + (now - bucket.updated).inSeconds * rate, rate * burstSeconds)
        bucket.updated = now
        state.buckets[direction] = bucket
    }

    /// Runs a download once fewer than `incomingMaxConnections` are under way.
    public func withIncomingConnection<Result: Sendable>(
        _ body: () async throws -> Result
    ) async throws -> Result {
        while true {
            let admitted = state.withLock { state in
                let cap = state.limits.incomingMaxConnections
                guard cap <= 0 || state.incomingConnections < cap else { return false }
                state.incomingConnections += 1
                return true
            }
            if admitted { break }
            try await clock.sleep(.milliseconds(50))
        }
        defer { state.withLock { $0.incomingConnections -= 1 } }
        return try await body()
    }
}
