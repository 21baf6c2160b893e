import Logging
import NIOPosix
import OutpostCore
import OutpostRPC

/// What every sign-in on the remote listener goes through, over WebSocket (`auth`, `authToken`) and over HTTP (a file
/// transfer's `Authorization`) alike: the per-address throttle admits the attempt before the check (and counts it
/// while it runs), and a refusal is recorded as a `remoteLoginFailed` event and a warning line, with the address
/// and user name and never a secret.
struct SignInAudit: Sendable {
    let throttle: LoginThrottle
    let node: NodeContext

    /// Admits an attempt from `address` once the throttle has a slot for it, or returns the seconds it must wait
    /// (recorded as `remoteLoginThrottled`).
    func admit(from address: String, userName: String?) async -> Result<LoginThrottle.Attempt, LoginThrottle.Wait> {
        let admitted = await throttle.admit(from: address, now: { MonotonicClock.seconds() })
        if case .failure = admitted {
            node.events.record(
                "remoteLoginThrottled",
                ["address": .string(address), "userName": userName.map(JSONValue.string) ?? .null]
            )
        }
        return admitted
    }

    /// Runs an attempt's credential check on NIO's blocking-work pool (a password check is ~50 ms of scrypt). If the
    /// pool cannot run it (the daemon is stopping), the attempt is given back uncounted.
    func check<Value: Sendable>(
        _ attempt: LoginThrottle.Attempt,
        _ work: @escaping @Sendable () -> Value
    ) async throws -> Value {
        do {
            return try await NIOThreadPool.singleton.runIfActive(work)
        } catch {
            throttle.finish(attempt, succeeded: true, now: MonotonicClock.seconds())
            throw error
        }
    }

    /// The attempt's credentials were right: it does not count against its address.
    func accept(_ attempt: LoginThrottle.Attempt) {
        throttle.finish(attempt, succeeded: true, now: MonotonicClock.seconds())
    }

    /// Counts a refused attempt against its address and records it; `details` add to the event.
    func refuse(
        _ attempt: LoginThrottle.Attempt,
        userName: String?,
        reason: String,
        details: [String: JSONValue] = [:]
    ) {
        throttle.finish(attempt, succeeded: false, now: MonotonicClock.seconds())
        let address = attempt.address
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
