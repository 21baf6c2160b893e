import OutpostRPC

/// `getEventLog` and `getThirdPartyLicenses`: what the daemon has done, and what it is made of.
enum EventMethods {
    static func make(node: NodeContext) -> [RPCMethod<ControlSession>] {
        [
            RPCMethod("getEventLog", parameters: ["eventName", "before", "after", "limit"]) { params, session in
                let events = node.events.query(
                    name: try params.optionalString("eventName"),
                    before: try params.optionalInteger("before"),
                    after: try params.optionalInteger("after"),
                    limit: try params.optionalInteger("limit", in: 0...Int64(node.events.capacity)).map { Int($0) },
                    caller: session.caller,
                    superuser: session.isSuperuser
                )
                return ["eventLog": .array(events.map(\.json))]
            },
            RPCMethod("getThirdPartyLicenses") { _, _ in
                .object(ThirdPartyLicenses.all.mapValues { .string($0) })
            },
        ]
    }
}
