import OutpostRPC
import OutpostService
import OutpostTransfers
import Synchronization

/// The bandwidth limits in force: those `updateBandwidthLimits` set, kept in `bandwidth-limits.json` in the state
/// directory so they survive restarts, under those the configuration's `[bandwidth]` sets, which are locked (as
/// JetStream locks limits given on its command line).
final class BandwidthSettingsStore: Sendable {
    let limiter: BandwidthLimiter
    /// The parameter names the configuration fixed; an update naming one of them is refused.
    let locked: Set<String>
    private let path: String
    private let writes = Mutex(())

    static let fileName = "bandwidth-limits.json"

    init(stateDirectory: String, configured: NodeConfiguration.Bandwidth) throws(StateDirectoryError) {
        path = stateDirectory + "/" + Self.fileName
        var limits = BandwidthLimits()
        if let text = try StateDirectory.readSmallFile(path, limit: 64 << 10) {
            guard let value = try? JSONCoding.parse(Array(text.utf8)), let saved = Self.limits(from: value) else {
                throw StateDirectoryError(path: path, message: "is not a valid bandwidth-limit file; fix or remove it")
            }
            limits = saved
        }
        locked = configured.apply(to: &limits)
        limiter = BandwidthLimiter(limits)
    }

    var current: BandwidthLimits { limiter.limits }

    /// Applies the given changes (nil: unchanged) after writing them to the file.
    func update(_ change: (inout BandwidthLimits) -> Void) throws(StateDirectoryError) -> BandwidthLimits {
        try writes.withLock { _ throws(StateDirectoryError) in
            var limits = limiter.limits
            change(&limits)
            try StateDirectory.writeAtomically(
                path,
                contents: JSONCoding.serializeToString(Self.json(limits)),
                mode: 0o600
            )
            limiter.update(limits)
            return limits
        }
    }

    static func json(_ limits: BandwidthLimits) -> JSONValue {
        [
            "incomingLimitActive": .bool(limits.incomingLimitActive),
            "incomingRateLimit": .double(limits.incomingRateLimit),
            "incomingMaxConnections": .integer(Int64(limits.incomingMaxConnections)),
            "borrowOutgoing": .bool(limits.borrowOutgoing),
            "outgoingLimitActive": .bool(limits.outgoingLimitActive),
            "outgoingRateLimit": .double(limits.outgoingRateLimit),
            "borrowIncoming": .bool(limits.borrowIncoming),
        ]
    }

    static func limits(from value: JSONValue) -> BandwidthLimits? {
        guard case .object(let object) = value else { return nil }
        func number(_ key: String) -> Double? {
            switch object[key] {
            case .integer(let value): Double(value)
            case .double(let value): value
            default: nil
            }
        }
        func flag(_ key: String) -> Bool? {
            if case .bool(let value) = object[key] { return value }
            return nil
        }
        guard let incomingActive = flag("incomingLimitActive"), let incomingRate = number("incomingRateLimit"),
            let connections = number("incomingMaxConnections"), let borrowOutgoing = flag("borrowOutgoing"),
            let outgoingActive = flag("outgoingLimitActive"), let outgoingRate = number("outgoingRateLimit"),
            let borrowIncoming = flag("borrowIncoming"), incomingRate >= 0, outgoingRate >= 0,
            (0...1024).contains(connections)
        else { return nil }
        var limits = BandwidthLimits()
        limits.incomingLimitActive = incomingActive
        limits.incomingRateLimit = incomingRate
        limits.incomingMaxConnections = Int(connections)
        limits.borrowOutgoing = borrowOutgoing
        limits.outgoingLimitActive = outgoingActive
        limits.outgoingRateLimit = outgoingRate
        limits.borrowIncoming = borrowIncoming
        return limits
    }
}

extension NodeConfiguration.Bandwidth {
    /// Sets the configured limits on `limits`; returns the API parameter names they lock.
    func apply(to limits: inout BandwidthLimits) -> Set<String> {
        var locked: Set<String> = []
        if let incomingRateLimit {
            limits.incomingRateLimit = incomingRateLimit
            limits.incomingLimitActive = incomingRateLimit > 0
            locked.formUnion(["incomingRateLimit", "incomingLimitActive"])
        }
        if let outgoingRateLimit {
            limits.outgoingRateLimit = outgoingRateLimit
            limits.outgoingLimitActive = outgoingRateLimit > 0
            locked.formUnion(["outgoingRateLimit", "outgoingLimitActive"])
        }
        if let incomingMaxConnections {
            limits.incomingMaxConnections = incomingMaxConnections
            locked.insert("incomingMaxConnections")
        }
        if let borrowOutgoing {
            limits.borrowOutgoing = borrowOutgoing
            locked.insert("borrowOutgoing")
        }
        if let borrowIncoming {
            limits.borrowIncoming = borrowIncoming
            locked.insert("borrowIncoming")
        }
        return locked
    }
}
