import Logging
import ServiceLifecycle

/// Sends `WATCHDOG=1` at half of `WATCHDOG_USEC`, but only while every health check passes.
///
/// When systemd set no watchdog the service just waits for shutdown: nothing wakes up periodically.
public struct WatchdogService: Service {
    private let notifier: SystemdNotifier
    private let checks: [any HealthCheck]
    private let logger: Logger

    public init(notifier: SystemdNotifier, checks: [any HealthCheck], logger: Logger) {
        self.notifier = notifier
        self.checks = checks
        self.logger = logger
    }

    public func run() async throws {
        guard let timeout = notifier.watchdogTimeout else {
            // No watchdog: stay in the group without waking up until shutdown.
            try? await gracefulShutdown()
            return
        }
        let interval = timeout / 2
        logger.debug("watchdog enabled", metadata: ["interval": "\(interval)"])
        var lastProblem: String?
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let problem = await firstProblem()
            if let problem {
                if problem != lastProblem {
                    logger.error("health check failed; not feeding the watchdog", metadata: ["problem": "\(problem)"])
                }
            } else {
                if lastProblem != nil { logger.notice("health checks pass again; feeding the watchdog") }
                notifier.watchdog()
            }
            lastProblem = problem
            // Ends early (and the loop with it) on graceful shutdown or cancellation.
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }

    private func firstProblem() async -> String? {
        for check in checks {
            if let problem = await check.checkHealth() { return "\(check.healthCheckName): \(problem)" }
        }
        return nil
    }
}
