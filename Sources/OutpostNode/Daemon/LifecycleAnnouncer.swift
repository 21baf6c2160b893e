import Logging
import OutpostFiles
import OutpostService
import ServiceLifecycle

/// Tells systemd `READY=1` once the daemon serves, and `STOPPING=1` the moment shutdown begins.
///
/// It is started after every listener is bound (see `NodeDaemon`), so readiness never precedes a socket that answers.
struct LifecycleAnnouncer: Service {
    let notifier: SystemdNotifier
    let logger: Logger
    let readyStatus: @Sendable () -> String
    let sandboxMappings: SandboxMappingStore

    func run() async throws {
        notifier.ready(status: readyStatus())
        logger.notice(
            "outpostd is ready",
            metadata: ["status": "\(readyStatus())", "path_resolver": "\(SandboxResolver.kernelResolver)"]
        )
        SandboxRootAudit.log(sandboxMappings.current, to: logger)
        do {
            try await gracefulShutdown()
        } catch {
            // Cancelled (SIGINT): stopping all the same.
        }
        notifier.stopping()
        logger.notice("outpostd is stopping")
    }
}
