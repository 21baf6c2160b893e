import Synchronization

/// The node's transfer limits, named as the seed API's `updateBandwidthLimits` names them. Incoming is what the node
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
/// A transfer takes its bytes after it moved them and sleeps while its direction is in debt, so the long-run rate is
/// the limit whatever the chunk sizes; a bucket holds at most a tenth of a second of budget, so an idle spell does not
/// turn into a burst. Borrowing moves the other direction's unused budget (what its bucket accumulated) across.
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
    public func consume(_ count: Int, _ direction: TransferDirection) async throws {
        while isPaused { try await clock.sleep(.milliseconds(250)) }
        state.withLock { $0.totals[direction, default: 0] += Int64(count) }
        var debt = state.withLock { state -> Double in
            guard state.limits.bytesPerSecond(direction) != nil else { return 0 }
            let now = clock.now()
            Self.refill(&state, direction, now: now)
            state.buckets[direction]!.tokens -= Double(count)
            return Self.settle(&state, direction, now: now)
        }
        while debt > 0 {
            try await clock.sleep(.seconds(min(debt, 0.25)))
            debt = state.withLock { state in
                guard state.limits.bytesPerSecond(direction) != nil else { return 0 }
                let now = clock.now()
                Self.refill(&state, direction, now: now)
                return Self.settle(&state, direction, now: now)
            }
        }
    }

    /// Seconds to wait until the direction is out of debt (after borrowing what the other direction left unused).
    private static func settle(
        _ state: inout State,
        _ direction: TransferDirection,
        now: ContinuousClock.Instant
    ) -> Double {
        guard let rate = state.limits.bytesPerSecond(direction) else { return 0 }
        var tokens = state.buckets[direction]!.tokens
        var borrowedRate = 0.0
        if tokens < 0, state.limits.borrows(direction), let otherRate = state.limits.bytesPerSecond(direction.other) {
            refill(&state, direction.other, now: now)
            let spare = max(state.buckets[direction.other]!.tokens, 0)
            let taken = min(spare, -tokens)
            state.buckets[direction.other]!.tokens -= taken
            tokens += taken
            borrowedRate = otherRate
        }
        state.buckets[direction]!.tokens = tokens
        return tokens < 0 ? -tokens / (rate + borrowedRate) : 0
    }

    private static func refill(_ state: inout State, _ direction: TransferDirection, now: ContinuousClock.Instant) {
        guard let rate = state.limits.bytesPerSecond(direction) else { return }
        var bucket = state.buckets[direction]!
        let elapsed = now - bucket.updated
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        bucket.tokens = min(bucket.tokens + seconds * rate, rate * burstSeconds)
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
