import OutpostRPC
import OutpostState
import OutpostTransfers
import ServiceLifecycle

/// Puts the node's current transfer rates in the state tree once a second, under `transfers`:
/// `{"incoming": {"rate": B/s, "total": B}, "outgoing": {…}, "limits": {…updateBandwidthLimits' names…}}`.
///
/// Rates are the bytes every transfer passed through the bandwidth limiter (the scheduler's and the remote
/// listener's alike) over the last second, so a controller sees what the limit is doing without polling. An idle node
/// publishes nothing: the values do not change, and the state stream sends only changes.
struct TransferRatePublisher: Service {
    let bandwidth: BandwidthSettingsStore
    let publisher: StatePublisher
    var interval: Duration = .seconds(1)

    func run() async throws {
        let limiter = bandwidth.limiter
        var previous = (
            incoming: limiter.totalBytes(.incoming), outgoing: limiter.totalBytes(.outgoing), at: ContinuousClock.now
        )
        publish(incomingRate: 0, outgoingRate: 0, previous.incoming, previous.outgoing)
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                break
            }
            let now = ContinuousClock.now
            let incoming = limiter.totalBytes(.incoming)
            let outgoing = limiter.totalBytes(.outgoing)
            let elapsed = now - previous.at
            let seconds = max(
                Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18,
                0.001
            )
            publish(
                incomingRate: Double(incoming - previous.incoming) / seconds,
                outgoingRate: Double(outgoing - previous.outgoing) / seconds,
                incoming,
                outgoing
            )
            previous = (incoming, outgoing, now)
        }
    }

    private func publish(incomingRate: Double, outgoingRate: Double, _ incoming: Int64, _ outgoing: Int64) {
        publisher.set(
            ["transfers"],
            to: [
                "incoming": ["rate": .integer(Int64(incomingRate.rounded())), "total": .integer(incoming)],
                "outgoing": ["rate": .integer(Int64(outgoingRate.rounded())), "total": .integer(outgoing)],
                "limits": BandwidthSettingsStore.json(bandwidth.current),
            ]
        )
    }
}
