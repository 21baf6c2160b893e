import OutpostTransfers
import Synchronization
import Testing

/// Virtual time for the limiter: a sleep moves time to the sleeper's wake-up at once, so the accounting is checked
/// exactly, whatever else the machine is doing (the test process runs blocking end-to-end tests beside these).
private final class ManualClock: Sendable {
    private let start = ContinuousClock.now
    private let offset = Mutex<Duration>(.zero)

    var elapsedSeconds: Double {
        let elapsed = offset.withLock { $0 }
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
    }

    var limiterClock: LimiterClock {
        LimiterClock(
            now: { self.start + self.offset.withLock { $0 } },
            sleep: { duration in
                self.offset.withLock { offset in offset = offset + duration }
                await Task.yield()
            }
        )
    }
}

@Suite("bandwidth limits")
struct BandwidthLimiterTests {
    @Test("a limited direction moves its bytes at the rate, whatever the chunk sizes; the other is not slowed")
    func rateIsKept() async throws {
        var limits = BandwidthLimits()
        limits.incomingLimitActive = true
        limits.incomingRateLimit = 800  // 100,000 bytes per second
        let clock = ManualClock()
        let limiter = BandwidthLimiter(limits, clock: clock.limiterClock)
        for size in Array(repeating: [1000, 16384, 65536, 300], count: 10).joined() {
            try await limiter.consume(size, .incoming)
        }
        // 832,200 bytes at 100,000 B/s.
        #expect(abs(clock.elapsedSeconds - 8.322) < 0.001, "took \(clock.elapsedSeconds) s")
        try await limiter.consume(10_000_000, .outgoing)
        #expect(abs(clock.elapsedSeconds - 8.322) < 0.001)
    }

    @Test("borrowing adds the other direction's unused budget; without it the rate stays")
    func borrowing() async throws {
        var limits = BandwidthLimits()
        limits.incomingLimitActive = true
        limits.incomingRateLimit = 800  // 100,000 B/s
        limits.outgoingLimitActive = true
        limits.outgoingRateLimit = 800
        limits.borrowOutgoing = true
        let borrowingClock = ManualClock()
        let borrowing = BandwidthLimiter(limits, clock: borrowingClock.limiterClock)
        for _ in 0..<40 { try await borrowing.consume(5000, .incoming) }
        // 200,000 bytes at 100,000 B/s plus the 100,000 B/s outgoing leaves unused.
        #expect(abs(borrowingClock.elapsedSeconds - 1.0) < 0.05, "took \(borrowingClock.elapsedSeconds) s")

        limits.borrowOutgoing = false
        let plainClock = ManualClock()
        let plain = BandwidthLimiter(limits, clock: plainClock.limiterClock)
        for _ in 0..<40 { try await plain.consume(5000, .incoming) }
        #expect(abs(plainClock.elapsedSeconds - 2.0) < 0.001, "took \(plainClock.elapsedSeconds) s")
    }

    @Test("four transfers under one limit end together: none overtakes the others (real time)")
    func transfersAreServedInTurn() async throws {
        var limits = BandwidthLimits()
        limits.outgoingLimitActive = true
        limits.outgoingRateLimit = 3200  // 400,000 B/s: 4 × 10 × 10,000 B in 1 s
        let limiter = BandwidthLimiter(limits)
        let start = ContinuousClock.now
        let ends = try await withThrowingTaskGroup(of: Duration.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    for _ in 0..<10 { try await limiter.consume(10_000, .outgoing) }
                    return ContinuousClock.now - start
                }
            }
            return try await group.reduce(into: [Duration]()) { $0.append($1) }
        }
        let seconds = ends.map { Double($0.components.seconds) + Double($0.components.attoseconds) * 1e-18 }
        // In turn, the last round ends one chunk (25 ms) apart per transfer.
        #expect(seconds.min()! > 0.85 * seconds.max()!, "ends \(seconds)")
    }

    @Test("two transfers share one limit and are never faster than it (real time)")
    func transfersShare() async throws {
        var limits = BandwidthLimits()
        limits.outgoingLimitActive = true
        limits.outgoingRateLimit = 3200  // 400,000 B/s
        let limiter = BandwidthLimiter(limits)
        let start = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<2 {
                group.addTask { for _ in 0..<25 { try await limiter.consume(8000, .outgoing) } }
            }
            try await group.waitForAll()
        }
        let elapsed = ContinuousClock.now - start
        // 400,000 bytes: one second at the limit; a busy machine may only make it slower.
        #expect(elapsed >= .milliseconds(980), "took \(elapsed)")
    }

    @Test("new limits apply to transfers under way, and turning the limit off frees them")
    func updatesApplyAtOnce() async throws {
        var limits = BandwidthLimits()
        limits.incomingLimitActive = true
        limits.incomingRateLimit = 8  // 1,000 B/s: 1 MB would take 1,000 s
        let limiter = BandwidthLimiter(limits)
        let transfer = Task { try await limiter.consume(1_000_000, .incoming) }
        try await Task.sleep(for: .milliseconds(100))
        limits.incomingLimitActive = false
        limiter.update(limits)
        let start = ContinuousClock.now
        try await transfer.value
        // The transfer wakes from its current sleep (at most 0.25 s) and sees no limit.
        #expect(ContinuousClock.now - start < .seconds(30))
    }

    @Test("a paused limiter stalls transfers under way until it is resumed")
    func pauseStallsTransfers() async throws {
        let limiter = BandwidthLimiter()
        limiter.setPaused(true)
        let finished = Flag()
        let transfer = Task {
            try await limiter.consume(1000, .outgoing)
            finished.set()
        }
        try await Task.sleep(for: .milliseconds(600))
        #expect(!finished.isSet)
        limiter.setPaused(false)
        try await transfer.value
        #expect(finished.isSet)
    }

    @Test("incomingMaxConnections admits that many downloads at once")
    func connectionCap() async throws {
        var limits = BandwidthLimits()
        limits.incomingMaxConnections = 2
        let limiter = BandwidthLimiter(limits)
        let counter = Counter()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<6 {
                group.addTask {
                    try await limiter.withIncomingConnection {
                        await counter.enter()
                        try await Task.sleep(for: .milliseconds(100))
                        await counter.leave()
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(await counter.peak == 2)
    }
}

private actor Counter {
    var current = 0
    var peak = 0

    func enter() {
        current += 1
        peak = max(peak, current)
    }

    func leave() { current -= 1 }
}

private final class Flag: Sendable {
    private let value = Mutex(false)
    var isSet: Bool { value.withLock { $0 } }
    func set() { value.withLock { $0 = true } }
}
