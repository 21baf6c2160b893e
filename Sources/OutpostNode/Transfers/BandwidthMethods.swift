import OutpostRPC
import OutpostTransfers

/// `updateBandwidthLimits` with accsyn's client API's parameters (superuser only; unnamed parameters stay as they are;
/// rates in kbit/s), and `getBandwidthLimits` to read them. Both answer with the limits in force and the locked names.
enum BandwidthMethods {
    static let parameters: Set<String> = [
        "incomingLimitActive", "incomingRateLimit", "incomingMaxConnections", "borrowOutgoing",
        "outgoingLimitActive", "outgoingRateLimit", "borrowIncoming",
    ]

    static func make(store: BandwidthSettingsStore) -> [RPCMethod<ControlSession>] {
        [
            RPCMethod("getBandwidthLimits") { _, _ in describe(store) },
            RPCMethod("updateBandwidthLimits", parameters: parameters) { params, session in
                try FileRequestMethods.requireSuperuser(session, "updateBandwidthLimits")
                let rateRange = 0.0...100_000_000.0
                let incomingActive = try params.optionalBool("incomingLimitActive")
                let incomingRate = try params.optionalDouble("incomingRateLimit", in: rateRange)
                let connections = try params.optionalInteger("incomingMaxConnections", in: 0...1024)
                let borrowOutgoing = try params.optionalBool("borrowOutgoing")
                let outgoingActive = try params.optionalBool("outgoingLimitActive")
                let outgoingRate = try params.optionalDouble("outgoingRateLimit", in: rateRange)
                let borrowIncoming = try params.optionalBool("borrowIncoming")
                let given: [String: Bool] = [
                    "incomingLimitActive": incomingActive != nil, "incomingRateLimit": incomingRate != nil,
                    "incomingMaxConnections": connections != nil, "borrowOutgoing": borrowOutgoing != nil,
                    "outgoingLimitActive": outgoingActive != nil, "outgoingRateLimit": outgoingRate != nil,
                    "borrowIncoming": borrowIncoming != nil,
                ]
                let refused = given.filter { $0.value && store.locked.contains($0.key) }.keys.sorted()
                guard refused.isEmpty else {
                    throw RPCError.permissionDenied(
                        "updateBandwidthLimits: \(refused.joined(separator: ", ")) set in the configuration's "
                            + "[bandwidth] and locked; change the file and restart instead"
                    )
                }
                do {
                    _ = try store.update { limits in
                        if let incomingActive { limits.incomingLimitActive = incomingActive }
                        if let incomingRate { limits.incomingRateLimit = incomingRate }
                        if let connections { limits.incomingMaxConnections = Int(connections) }
                        if let borrowOutgoing { limits.borrowOutgoing = borrowOutgoing }
                        if let outgoingActive { limits.outgoingLimitActive = outgoingActive }
                        if let outgoingRate { limits.outgoingRateLimit = outgoingRate }
                        if let borrowIncoming { limits.borrowIncoming = borrowIncoming }
                    }
                } catch {
                    throw RPCError.internalError("cannot save the bandwidth limits: \(error)")
                }
                return describe(store)
            },
        ]
    }

    private static func describe(_ store: BandwidthSettingsStore) -> JSONValue {
        guard case .object(var object) = BandwidthSettingsStore.json(store.current) else { return .null }
        object["locked"] = .array(store.locked.sorted().map(JSONValue.string))
        return .object(object)
    }
}
