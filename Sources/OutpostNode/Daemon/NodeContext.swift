import Logging
import Synchronization

/// What the daemon's parts share: who this node is, its live configuration, its event log and its logger.
public struct NodeContext: Sendable {
    public let identity: NodeIdentity
    /// Changes with every process start, because request ids and other in-memory state do.
    public let instanceID: String
    public let settings: NodeSettings
    public let sandboxMappings: SandboxMappingStore
    public let events: EventLog
    public let logger: Logger

    /// Who reaches which directories.
    var sandboxPolicy: SandboxPolicy { SandboxPolicy(store: sandboxMappings) }
}

/// The configuration in force, replaced as a whole by a successful reload.
public final class NodeSettings: Sendable {
    private let configuration: Mutex<NodeConfiguration>

    public init(_ configuration: NodeConfiguration) {
        self.configuration = Mutex(configuration)
    }

    public var current: NodeConfiguration {
        configuration.withLock { $0 }
    }

    func replace(with new: NodeConfiguration) {
        configuration.withLock { $0 = new }
    }
}
