import OutpostRPC

/// The coordinator-facing control calls: accsyn's client API's `setLicenseKeyAsync(key, validate)`, which sets the node's
/// enrollment key (superuser only), as an asynchronous request like the file calls.
enum CoordinatorMethods {
    static func make(checkin: CheckinService, registry: RequestRegistry) -> [RPCMethod<ControlSession>] {
        [
            RPCMethod("setLicenseKeyAsync", parameters: ["key", "validate"]) { params, session in
                try FileRequestMethods.requireSuperuser(session, "setLicenseKeyAsync")
                let key = try params.string("key")
                let validate = try params.optionalBool("validate") ?? false
                let id = try await registry.submitNetwork(
                    method: "setLicenseKeyAsync",
                    owner: session.caller,
                    summary: ["validate": .bool(validate)]
                ) { () async throws(RPCError) -> JSONValue in
                    try await checkin.setEnrollmentKey(key, validate: validate)
                }
                return ["requestId": .integer(id)]
            }
        ]
    }
}
