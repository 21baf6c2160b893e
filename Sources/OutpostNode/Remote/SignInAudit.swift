import Logging
import OutpostCore
import OutpostRPC

/// What every sign-in on the remote listener goes through, over WebSocket (`auth`, `authToken`) and over HTTP (a file
/// transfer's `Authorization`) alike: the per-address throttle before the check, and after a refusal the throttle's
/// count, a `remoteLoginFailed` event and a warning line, with the address and user name and never a secret.
struct SignInAudit: Sendable {
    let throttle: LoginThrottle
    let node: NodeContext

    /// Seconds `address` must wait before it may try again (recorded as `remoteLoginThrottled`), or nil.
    func waitBeforeAttempt(from address: String, userName: String?) -> Double? {
        guard let wait = throttle.waitBeforeAttempt(from: address, now: MonotonicClock.seconds()) else { return nil }
        node.events.record(
            "remoteLoginThrottled",
            ["address": .string(address), "userName": userName.map(JSONValue.string) ?? .null]
        )
        return wait
    }

    /// Counts a refused attempt against `address` and records it; `details` add to the event (a connection, a path).
    func refuse(address: String, userName: String?, reason: String, details: [String: JSONValue] = [:]) {
        throttle.recordFailure(from: address, now: MonotonicClock.seconds())
        var fields = details
        fields["address"] = .string(address)
        fields["userName"] = userName.map(JSONValue.string) ?? .null
        fields["reason"] = .string(reason)
        node.events.record("remoteLoginFailed", fields)
        node.logger.warning(
            "remote sign-in refused",
            metadata: ["address": "\(address)", "user": "\(userName ?? "-")", "reason": "\(reason)"]
        )
    }
}
