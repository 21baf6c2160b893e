import OutpostLanes
import OutpostService
import OutpostState
import OutpostTransfers
import Synchronization

/// A reference filled in after construction: the scheduler client is a work source the lane supervisor is built
/// with, yet it asks the supervisor for the lanes' count and benchmark.
final class LateReference<Value: Sendable>: Sendable {
    private let value = Mutex<Value?>(nil)

    func set(_ new: Value) {
        value.withLock { $0 = new }
    }

    func get() -> Value? {
        value.withLock { $0 }
    }
}

extension NodeDaemon {
    /// The scheduler client for the configured project (`[scheduler]`, or the coordinator's own project), if any.
    static func makeSchedulerClient(
        _ configuration: NodeConfiguration,
        node: NodeContext,
        publisher: StatePublisher,
        lanes: LateReference<LaneSupervisor>,
        limiter: BandwidthLimiter
    ) throws -> SchedulerClient? {
        let settings = configuration.scheduler
        guard let projectURL = settings.effectiveProjectURL(coordinator: configuration.coordinator.url) else {
            return nil
        }
        let stateDirectory = configuration.node.stateDirectory
        let events = node.events
        let fallbackLanes = configuration.lanes.lanes.count
        return try SchedulerClient(
            .init(
                settings: settings,
                stateDirectory: stateDirectory,
                nodeID: node.identity.nodeID,
                nodeName: configuration.effectiveNodeName,
                authenticator: {
                    if let file = settings.authenticatorFile {
                        let text = (try? StateDirectory.readSmallFile(file)) ?? nil
                        return text.map { String($0.filter { !$0.isWhitespace }) }.flatMap { $0.isEmpty ? nil : $0 }
                    }
                    guard let credentials = try? CoordinatorCredentials.load(stateDirectory: stateDirectory) else {
                        return nil
                    }
                    return "\(credentials.clientID).\(credentials.secret)"
                },
                hostFacts: {
                    guard let supervisor = lanes.get() else { return (fallbackLanes, 1e9) }
                    let benchmarks = await supervisor.laneBenchmarks
                    let perLane = benchmarks.compactMap(\.benchmark)
                    let mops = perLane.isEmpty ? 1000 : perLane.reduce(0, +) / Double(perLane.count)
                    return (max(benchmarks.count, 1), mops * 1e6)
                },
                laneReferences: { source in try? await lanes.get()?.heldReferences(source: source) },
                workArrived: { source in await lanes.get()?.workAvailable(source: source) },
                abortTask: { source, reference, reason in
                    (try? await lanes.get()?.abort(source: source, reference: reference, reason: reason)) ?? false
                },
                publisher: publisher,
                recordEvent: { name, fields in _ = events.record(name, fields) },
                logger: node.logger
            ),
            projectURL: projectURL,
            limiter: limiter
        )
    }
}
