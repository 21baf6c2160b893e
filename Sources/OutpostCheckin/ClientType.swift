/// The kinds of client a coordinator knows, numbered as in the coordinator's `Client` entity (docs/coordinator.md).
public enum ClientType: Int64, Sendable, CaseIterable {
    case app = 0
    /// The daemon installed by an admin as a system service.
    case server = 1
    /// The daemon run by an ordinary user.
    case userServer = 2
    case browser = 3
    /// A virtual client for one of a server's compute lanes; its `parent` is the server.
    case computeLane = 5

    /// `type_hr` in the entity.
    public var humanReadable: String {
        switch self {
        case .app: "app"
        case .server: "server"
        case .userServer: "user server"
        case .browser: "browser"
        case .computeLane: "lane"
        }
    }
}

/// A client's status as the admin sees it (the status table in docs/coordinator.md).
///
/// Only `online` and `disabled` can be written; `offline` and `disabled-offline` follow from the check-in clock.
public enum ClientStatus: String, Sendable, CaseIterable {
    case online
    case offline
    case disabled
    case disabledOffline = "disabled-offline"

    /// Whether the client may take new work and transfers.
    public var isEnabled: Bool { self == .online || self == .offline }

    /// Derived from the stored flag and the last check-in: the only way a status is ever computed.
    public init(disabled: Bool, lastCheckin: Double?, now: Double, offlineGrace: Double) {
        let online = lastCheckin.map { now - $0 <= offlineGrace } ?? false
        switch (disabled, online) {
        case (false, true): self = .online
        case (false, false): self = .offline
        case (true, true): self = .disabled
        case (true, false): self = .disabledOffline
        }
    }
}
