import Synchronization

/// Limits sign-in attempts per network address: at most `limit` failures in any `window` seconds; past that, every
/// attempt from the address is refused without checking the password until the oldest failure leaves the window.
///
/// Attempts whose check is still running count too: an address may have at most `limit` failures and checks in
/// progress together. One more attempt waits for a check to end: if it failed and the limit is reached, the waiter is
/// refused unchecked; if it succeeded, the waiter takes its place. So 200 simultaneous guesses get `limit` checks,
/// not 200, while 100 simultaneous sign-ins with the right token all get in, `limit` at a time.
///
/// Why per address and without a lockout of the account: locking accounts lets anyone lock out a real user; limiting
/// addresses slows a guesser to `limit` guesses a minute and costs a legitimate user nothing. Memory is bounded: at
/// most `maximumAddresses` addresses are tracked, the stalest dropped first (never one with checks in progress).
final class LoginThrottle: Sendable {
    /// An admitted attempt; hand it back to `finish` when its check is done.
    struct Attempt: Sendable {
        let address: String
        let id: UInt64
    }

    struct Wait: Error {
        let seconds: Double
    }

    /// What an attempt may do now.
    enum Decision {
        case admitted(Attempt)
        case refused(Wait)
        /// Every slot is a check in progress: ask again when one ends.
        case busy
    }

    private struct Address {
        var failures: [Double] = []
        var checking: Set<UInt64> = []
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private struct Table {
        var addresses: [String: Address] = [:]
        var nextID: UInt64 = 1
    }

    private let limit: Int
    private let window: Double
    private let maximumAddresses: Int
    private let table = Mutex(Table())

    init(limit: Int, window: Double = 60, maximumAddresses: Int = 10_000) {
        self.limit = max(limit, 1)
        self.window = window
        self.maximumAddresses = maximumAddresses
    }

    /// Admits an attempt from `address` once a slot is free, or refuses it (with the seconds until the address may
    /// try again) when its failures reached the limit.
    func admit(from address: String, now: @Sendable () -> Double) async -> Result<Attempt, Wait> {
        while true {
            var decided: Decision?
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                // Decided and, when busy, queued under one lock: a check that ends in between cannot be missed.
                let immediate = table.withLock { table -> Bool in
                    let decision = Self.decide(
                        &table,
                        address,
                        now(),
                        limit: limit,
                        window: window,
                        maximum: maximumAddresses
                    )
                    if case .busy = decision {
                        table.addresses[address]?.waiters.append(continuation)
                        return false
                    }
                    decided = decision
                    return true
                }
                if immediate { continuation.resume() }
            }
            switch decided {
            case .admitted(let attempt): return .success(attempt)
            case .refused(let wait): return .failure(wait)
            case .busy, nil: continue  // woken by a check that ended: decide again
            }
        }
    }

    /// The decision without waiting.
    func decide(from address: String, now: Double) -> Decision {
        table.withLock { Self.decide(&$0, address, now, limit: limit, window: window, maximum: maximumAddresses) }
    }

    /// The attempt's check is done: a failure counts against its address for `window` seconds, a success not at all.
    /// Attempts waiting for a slot decide again.
    func finish(_ attempt: Attempt, succeeded: Bool, now: Double) {
        let waiters = table.withLock { table -> [CheckedContinuation<Void, Never>] in
            guard var entry = table.addresses[attempt.address] else { return [] }
            entry.checking.remove(attempt.id)
            if !succeeded { entry.failures.append(now) }
            let waiters = entry.waiters
            entry.waiters = []
            table.addresses[attempt.address] = entry
            return waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    private static func decide(
        _ table: inout Table,
        _ address: String,
        _ now: Double,
        limit: Int,
        window: Double,
        maximum: Int
    ) -> Decision {
        if table.addresses[address] == nil, table.addresses.count >= maximum {
            let idle = table.addresses.filter { $0.value.checking.isEmpty && $0.value.waiters.isEmpty }
            if let stalest = idle.min(by: { ($0.value.failures.last ?? 0) < ($1.value.failures.last ?? 0) }) {
                table.addresses.removeValue(forKey: stalest.key)
            }
        }
        var entry = table.addresses[address] ?? Address()
        entry.failures.removeAll { $0 <= now - window }
        defer { table.addresses[address] = entry }
        if entry.failures.count >= limit, let oldest = entry.failures.first {
            return .refused(Wait(seconds: max(oldest + window - now, 0.001)))
        }
        guard entry.failures.count + entry.checking.count < limit else { return .busy }
        let id = table.nextID
        table.nextID += 1
        entry.checking.insert(id)
        return .admitted(Attempt(address: address, id: id))
    }
}
