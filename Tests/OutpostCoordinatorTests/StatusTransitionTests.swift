import OutpostCheckin
import Testing

@testable import OutpostCoordinator

@Suite("The status table")
struct StatusTransitionTests {
    /// (current, requested, the stored disabled flag or nil when refused)
    static let table: [(ClientStatus, String, Bool?)] = [
        (.online, "online", nil), (.online, "disabled", true),
        (.offline, "online", nil), (.offline, "disabled", true),
        (.disabled, "online", false), (.disabled, "disabled", nil),
        (.disabledOffline, "online", false), (.disabledOffline, "disabled", nil),
        (.online, "offline", nil), (.disabled, "disabled-offline", nil), (.offline, "offline", nil),
        (.online, "sleeping", nil),
    ]

    @Test("every transition, allowed and refused", arguments: table)
    func transition(_ current: ClientStatus, _ requested: String, _ expected: Bool?) {
        if let expected {
            #expect(
                (try? StatusTransition.disabledFlag(clientID: "c1", from: current, to: requested)) == expected
            )
        } else {
            #expect {
                try StatusTransition.disabledFlag(clientID: "c1", from: current, to: requested)
            } throws: { error in
                guard let error = error as? RegistryError else { return false }
                // A refusal names the transition or the writable statuses.
                return error.message.contains("→ \(requested)") || error.message.contains("online and disabled")
            }
        }
    }

    @Test("status follows the flag and the check-in clock")
    func derived() {
        #expect(ClientStatus(disabled: false, lastCheckin: 100, now: 200, offlineGrace: 900) == .online)
        #expect(ClientStatus(disabled: false, lastCheckin: 100, now: 1001, offlineGrace: 900) == .offline)
        #expect(ClientStatus(disabled: true, lastCheckin: 100, now: 200, offlineGrace: 900) == .disabled)
        #expect(ClientStatus(disabled: true, lastCheckin: 100, now: 1001, offlineGrace: 900) == .disabledOffline)
        #expect(ClientStatus(disabled: false, lastCheckin: nil, now: 0, offlineGrace: 900) == .offline)
    }
}
