import OutpostScheduler

/// The RPCs a project asks for with `next_rpc_delay`: made even when the lanes want nothing and nothing is ready to
/// report, because that is how a project reaches a busy host (to abort a cancelled job, for one).
extension SchedulerClient {
    /// Makes an RPC after `delay` (replacing any planned one) even if the lanes want nothing: the project asked to
    /// hear from this host by then, to send aborts or to take reports.
    func scheduleContact(after delay: Duration) {
        cancelContact()
        let generation = contactGeneration
        contactTask = Task { [weak self] in
            try? await Task.sleep(for: delay)
            guard !Task.isCancelled else { return }
            await self?.keepInTouch(generation)
        }
    }

    func cancelContact() {
        contactGeneration += 1
        if !contacting { contactTask?.cancel() }
        contactTask = nil
    }

    private func keepInTouch(_ generation: Int) async {
        guard generation == contactGeneration else { return }
        let wait = notBefore - .now
        if wait > .zero || rpcBusy {
            scheduleContact(after: max(wait, .seconds(1)))
            return
        }
        contacting = true
        defer { contacting = false }
        do {
            let reply = try await rpc(facts: await dependencies.hostFacts())
            if let reply, !reply.results.isEmpty { await dependencies.workArrived(name) }
        } catch {
            // Backed off: try again once the back-off allows.
            scheduleContact(after: max(notBefore - .now, .seconds(1)))
        }
    }
}
