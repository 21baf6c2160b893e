/// Something whose health decides whether the daemon tells systemd's watchdog it is alive.
///
/// A watchdog fed by a bare timer proves only that a timer fires; each long-running part of the daemon answers
/// instead, so a wedged event loop or a stuck dispatcher stops the pings and systemd restarts us.
public protocol HealthCheck: Sendable {
    /// A short name for logs ("control server").
    var healthCheckName: String { get }
    /// Returns nil when healthy, or what is wrong. Must answer within a second or so.
    func checkHealth() async -> String?
}
