import OutpostClient
import OutpostRPC
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `updateBandwidthLimits` against a real daemon: superuser only, validated, persisted, and locked where the
/// configuration's `[bandwidth]` fixed a limit.
@Suite("bandwidth limits (real outpostd)")
struct BandwidthLimitTests {
    @Test func limitsAreSetBySuperusersKeptAcrossRestartsAndLockedByTheConfiguration() throws {
        let directory = try TemporaryDirectory()
        let config = "[bandwidth]\noutgoing_rate_limit = 5000\n"
        var daemon = try Daemon(config: config, directory: directory)
        var client = try daemon.client()

        let initial = try client.call("getBandwidthLimits")
        #expect(initial["incomingLimitActive"] == false)
        #expect(initial["outgoingLimitActive"] == true)
        #expect(initial["outgoingRateLimit"]?.numberValue == 5000)
        #expect(initial["locked"] == ["outgoingLimitActive", "outgoingRateLimit"])

        #expect {
            try client.call("updateBandwidthLimits", ["incomingRateLimit": 100])
        } throws: { ($0 as? ControlClientError)?.message.contains("needs superuser") == true }
        _ = try client.call("superuser")
        #expect {
            try client.call("updateBandwidthLimits", ["outgoingRateLimit": 100])
        } throws: { ($0 as? ControlClientError)?.message.contains("locked") == true }
        #expect {
            try client.call("updateBandwidthLimits", ["incomingRateLimit": -1])
        } throws: { ($0 as? ControlClientError)?.message.contains("'incomingRateLimit' must be between") == true }
        #expect {
            try client.call("updateBandwidthLimits", ["incomingMaxConnections": "many"])
        } throws: { ($0 as? ControlClientError)?.message.contains("incomingMaxConnections") == true }

        let updated = try client.call(
            "updateBandwidthLimits",
            [
                "incomingLimitActive": true, "incomingRateLimit": 10_000, "incomingMaxConnections": 3,
                "borrowOutgoing": true,
            ]
        )
        #expect(updated["incomingLimitActive"] == true)
        #expect(updated["incomingRateLimit"]?.numberValue == 10_000)
        #expect(updated["incomingMaxConnections"] == 3)
        #expect(updated["borrowOutgoing"] == true)
        // Unnamed parameters stay as they were.
        #expect(updated["borrowIncoming"] == false)
        #expect(updated["outgoingRateLimit"]?.numberValue == 5000)

        var status = stat()
        #expect(stat(directory.file("state/bandwidth-limits.json"), &status) == 0)
        #expect(status.st_mode & 0o777 == 0o600)

        #expect(try daemon.stop() == 0)
        daemon = try Daemon(config: config, directory: directory)
        client = try daemon.client()
        let restarted = try client.call("getBandwidthLimits")
        #expect(restarted["incomingRateLimit"]?.numberValue == 10_000)
        #expect(restarted["incomingMaxConnections"] == 3)
        #expect(restarted["outgoingRateLimit"]?.numberValue == 5000)
        #expect(try daemon.stop() == 0)
    }
}
