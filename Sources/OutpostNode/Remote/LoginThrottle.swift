import Synchronization

/// Limits failed logins per network address: at most `limit` failures in any `window` seconds; past that, every
/// attempt from the address is refused without checking the password until the oldest failure leaves the window.
///
/// Why per address and without a lockout of the account: locking accounts lets anyone lock out a real user; limiting
/// addresses slows a guesser to `limit` guesses a minute and costs a legitimate user nothing. Memory is bounded: at
/// most `maximumAddresses` addresses are tracked, the stalest dropped first.
final class LoginThrottle: Sendable {
    private let limit: Int
    private let window: Double
    private let maximumAddresses: Int
    private let failures = Mutex<[String: [Double]]>([:])

    init(limit: Int, window: Double = 60, maximumAddresses: Int = 10_000) {
        self.limit = max(limit, 1)
        self.window = window
        self.maximumAddresses = maximumAddresses
    }

    /// Seconds until `address` may try again, or nil when it may try now.
    func waitBeforeAttempt(from address: String, now: Double) -> Double? {
        failures.withLock { table in
            guard var times = table[address] else { return nil }
            times.removeAll { $0 <= now - window }
            table[address] = times.isEmpty ? nil : times
            guard times.count >= limit, let oldest = times.first else { return nil }
            return max(oldest + window - now, 0.001)
        }
    }

    func recordFailure(from address: String, now: Double) {
        failures.withLock { table in
            if table[address] == nil, table.count >= maximumAddresses {
                let stalest = table.min { ($0.value.last ?? 0) < ($1.value.last ?? 0) }
                if let stalest { table.removeValue(forKey: stalest.key) }
            }
            var times = table[address, default: []]
            times.removeAll { $0 <= now - window }
            times.append(now)
            table[address] = Array(times.suffix(limit))
        }
    }
}
