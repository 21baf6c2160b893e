import OutpostCheckin
import OutpostRPC
import Testing

@testable import OutpostCoordinator

@Suite("Client registry")
struct ClientRegistryTests {
    @Test("enrollment creates the node and its lanes; find returns the Client entity")
    func enrollAndFind() async throws {
        let harness = try await RegistryHarness()
        let (reply, secret) = try await harness.registry.enroll(
            token: try await harness.token(),
            report: RegistryHarness.report(),
            wanIP: "127.0.0.1"
        )
        #expect(secret.count == 64)
        #expect(reply.status == .online)
        #expect(reply.site == "hq")
        #expect(reply.lanes.map(\.index) == [0, 1])

        let servers = try await harness.registry.find("Client where type=1")
        #expect(servers.count == 1)
        let server = try #require(servers.first)
        let attributes: Set<String> = [
            "id", "code", "user", "user_hr", "created", "type", "type_hr", "site", "site_hr", "description", "host_id",
            "last_checkin", "status", "os", "username", "version", "wan_ip", "parent", "benchmark", "metrics",
            "metadata", "modified", "modifier",
        ]
        #expect(Set(server.objectValue?.keys.map { $0 } ?? []) == attributes)
        #expect(server["type_hr"] == "server")
        #expect(server["site_hr"] == "hq")
        #expect(server["user_hr"] == "user:admin(admin)")
        #expect(server["wan_ip"] == "127.0.0.1")
        #expect(server["metrics"]?["c"] == 8)
        #expect(server["metrics"]?["in"]?["s"]?.numberValue == -1)

        let lanes = try await harness.registry.find("Client where type=5")
        #expect(lanes.count == 2)
        #expect(
            lanes.allSatisfy {
                $0["parent"] == server["id"] && $0["type_hr"] == "lane" && $0["benchmark"]?.numberValue == 100
            }
        )
        #expect(try await harness.registry.find("Client where status=online and site_hr=hq").count == 3)
        #expect(try await harness.registry.find("Client where site_hr in (lab, remote)").isEmpty)
        #expect(try await harness.registry.find("Client where metrics.c >= 8").count == 1)
        #expect(try await harness.registry.find("Client where parent = null").count == 1)
    }

    @Test("check-ins authenticate, match lanes to the report, and refuse a wrong secret")
    func checkins() async throws {
        let harness = try await RegistryHarness()
        let (reply, secret) = try await harness.registry.enroll(
            token: try await harness.token(),
            report: RegistryHarness.report(lanes: 3),
            wanIP: "127.0.0.1"
        )
        await #expect(throws: RegistryError.self) {
            _ = try await harness.registry.checkin(
                clientID: reply.id,
                secret: String(repeating: "0", count: 64),
                report: RegistryHarness.report(),
                wanIP: "127.0.0.1"
            )
        }
        let again = try await harness.registry.checkin(
            clientID: reply.id,
            secret: secret,
            report: RegistryHarness.report(lanes: 1),
            wanIP: "127.0.0.2"
        )
        #expect(again.lanes.map(\.index) == [0])
        #expect(again.lanes[0].id == reply.lanes[0].id)
        #expect(try await harness.registry.find("Client where type=5").count == 1)
        #expect(try await harness.registry.find("Client where wan_ip = 127.0.0.2").count == 2)
    }

    @Test("tokens: unknown, expired and used up are refused")
    func tokens() async throws {
        let harness = try await RegistryHarness()
        await #expect(throws: RegistryError.self) {
            _ = try await harness.registry.enroll(token: "nope", report: RegistryHarness.report(), wanIP: "")
        }
        let once = try await harness.token(uses: 1)
        _ = try await harness.registry.enroll(token: once, report: RegistryHarness.report(), wanIP: "")
        await #expect(throws: RegistryError.self) {
            _ = try await harness.registry.enroll(token: once, report: RegistryHarness.report(), wanIP: "")
        }
        let expiring = try await harness.token()
        #expect(try await harness.registry.validateToken(expiring).site == "hq")
        harness.advance(3601)
        await #expect(throws: RegistryError.self) { _ = try await harness.registry.validateToken(expiring) }
    }

    @Test("offline after the grace; the status table through update; delete only when offline")
    func lifecycle() async throws {
        let harness = try await RegistryHarness(offlineGrace: 10)
        let (reply, _) = try await harness.registry.enroll(
            token: try await harness.token(),
            report: RegistryHarness.report(),
            wanIP: ""
        )
        let id = reply.id
        func status() async throws -> String? { try await harness.registry.client(id)?["status"]?.stringValue }

        await #expect(throws: RegistryError.self) { try await harness.registry.deleteOne(id: id) }
        let disabled = try await harness.registry.update(
            id: id,
            data: ["status": "disabled"],
            modifierID: harness.adminID
        )
        #expect(disabled["status"] == "disabled")
        #expect(disabled["modifier"] == .string(harness.adminID))
        await #expect(throws: RegistryError.self) {
            _ = try await harness.registry.update(id: id, data: ["status": "disabled"], modifierID: harness.adminID)
        }
        harness.advance(11)
        #expect(try await status() == "disabled-offline")
        _ = try await harness.registry.update(id: id, data: ["status": "online"], modifierID: harness.adminID)
        #expect(try await status() == "offline")
        _ = try await harness.registry.update(id: id, data: ["status": "disabled"], modifierID: harness.adminID)
        #expect(try await status() == "disabled-offline")
        await #expect(throws: RegistryError.self) {
            _ = try await harness.registry.update(id: id, data: ["status": "offline"], modifierID: harness.adminID)
        }
        await #expect(throws: RegistryError.self) {
            _ = try await harness.registry.update(id: id, data: ["colour": "red"], modifierID: harness.adminID)
        }
        await #expect(throws: RegistryError.self) { try await harness.registry.deleteOne(id: reply.lanes[0].id) }
        try await harness.registry.deleteOne(id: id)
        #expect(try await harness.registry.find("Client").isEmpty)
    }

    @Test("an admin's description is kept until the node's own one changes")
    func profile() async throws {
        let harness = try await RegistryHarness()
        var report = RegistryHarness.report()
        report.description = "from the node"
        let (reply, secret) = try await harness.registry.enroll(
            token: try await harness.token(),
            report: report,
            wanIP: ""
        )
        _ = try await harness.registry.update(
            id: reply.id,
            data: ["description": "from the admin", "metadata": ["external": ["location": "custom"]]],
            modifierID: harness.adminID
        )
        _ = try await harness.registry.checkin(clientID: reply.id, secret: secret, report: report, wanIP: "")
        #expect(try await harness.registry.client(reply.id)?["description"] == "from the admin")
        #expect(try await harness.registry.find("Client where metadata.external.location = custom").count == 1)
        report.description = "changed on the node"
        _ = try await harness.registry.checkin(clientID: reply.id, secret: secret, report: report, wanIP: "")
        #expect(try await harness.registry.client(reply.id)?["description"] == "changed on the node")
    }
}
