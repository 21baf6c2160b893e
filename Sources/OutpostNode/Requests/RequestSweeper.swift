import Logging
import OutpostRPC
import ServiceLifecycle

/// Sweeps expired requests every `intervalSeconds` (read again after each sweep, so
/// `updateGarbageCollectSettings` takes effect from the next one).
struct RequestSweeper: Service {
    let registry: RequestRegistry
    let events: EventLog
    let logger: Logger

    func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let interval = await registry.settings.intervalSeconds
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(interval)) }
            } catch {
                break
            }
            let removed = await registry.collectGarbage(force: false)
            if removed > 0 {
                logger.debug("expired requests removed", metadata: ["count": "\(removed)"])
                events.record("gcRun", ["removed": .integer(Int64(removed)), "force": false])
            }
        }
    }
}
