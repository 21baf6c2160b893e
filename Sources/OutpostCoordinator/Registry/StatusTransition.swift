import OutpostCheckin

/// The status table (docs/coordinator.md), in one place: which statuses an admin may write, from which current status, and what
/// the client becomes.
///
/// | current → requested | online | disabled |
/// |---|---|---|
/// | online | refused (already) | disabled |
/// | offline | refused (already enabled) | disabled-offline |
/// | disabled | online | refused (already) |
/// | disabled-offline | offline | refused (already) |
///
/// `offline` and `disabled-offline` are never writable: they follow from the check-in clock.
enum StatusTransition {
    /// The `disabled` flag to store for `requested`, or the reason the change is refused.
    static func disabledFlag(
        clientID: String,
        from current: ClientStatus,
        to requested: String
    ) throws(RegistryError)
        -> Bool
    {
        guard let target = ClientStatus(rawValue: requested) else {
            throw RegistryError(
                .invalid,
                "unknown status '\(requested)'; only online and disabled can be set"
            )
        }
        switch (current, target) {
        case (.disabled, .online), (.disabledOffline, .online):
            return false
        case (.online, .disabled), (.offline, .disabled):
            return true
        case (_, .offline), (_, .disabledOffline):
            throw RegistryError(
                .invalid,
                "status '\(target.rawValue)' cannot be set: it follows from check-ins; only online and disabled can be set"
            )
        case (.online, .online), (.offline, .online):
            throw RegistryError(
                .conflict,
                "client \(clientID) is \(current.rawValue), not disabled: only a disabled client can be set online "
                    + "(\(current.rawValue) → online is refused)"
            )
        case (.disabled, .disabled), (.disabledOffline, .disabled):
            throw RegistryError(
                .conflict,
                "client \(clientID) is already \(current.rawValue) (\(current.rawValue) → disabled is refused)"
            )
        }
    }
}
