import ServiceLifecycle

/// Runs the request registry's jobs for the life of the daemon. A graceful shutdown cancels them: a running `du` or
/// `rm` stops at its next entry rather than holding the daemon's exit hostage.
struct RequestRunner: Service {
    let registry: RequestRegistry

    func run() async {
        await cancelWhenGracefulShutdown { await registry.runJobs() }
    }
}
