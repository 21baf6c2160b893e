import OutpostCheckin
import OutpostRPC
import OutpostState
import OutpostTransfers
import ServiceLifecycle

/// Puts the node's current transfer rates in the state tree once a second, under `transfers`:
/// `{"incoming": {"rate": B/s, "total": B}, "outgoing": {…}, "limits": {…updateBandwidthLimits' names…}}`.
///
/// The figures are the check-in's (`TrafficMeter`, over the bytes every transfer passes through the bandwidth
/// limiter, the scheduler's and the remote listener's alike), taken every second, so a controller sees what the limit
/// is doing without polling. An idle node publishes nothing: the values do not change, and the state stream sends only
/// changes.
struct TransferRatePublisher: Service {
    let bandwidth: BandwidthSettingsStore
    let publisher: StatePublisher
    var interval: Duration = .seconds(1)

    func run() async throws {
        var meter = TrafficMeter(limiter: bandwidth.limiter)
        publish(&meter)
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                break
            }
            publish(&meter)
        }
    }

    private func publish(_ meter: inout TrafficMeter) {
        var directions: [String: JSONValue] = [:]
        for (name, direction) in [("incoming", TransferDirection.incoming), ("outgoing", .outgoing)] {
            let figures = meter.figures(direction)
            directions[name] = [
                "rate": .integer(Int64(figures.current.rounded())), "total": .integer(Int64(figures.total)),
            ]
        }
        directions["limits"] = BandwidthSettingsStore.json(bandwidth.current)
        publisher.set(["transfers"], to: .object(directions))
    }
}
