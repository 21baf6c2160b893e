import Logging
import OutpostCore
import OutpostRPC
import Testing

@testable import OutpostNode

@Suite("control methods, called without a socket")
struct ControlMethodsTests {
    func dispatcher(superusers: [String] = []) -> RPCDispatcher<ControlSession> {
        var configuration = NodeConfiguration()
        configuration.node.name = "test-node"
        configuration.control.superusers = superusers
        let node = NodeContext(
            identity: NodeIdentity(nodeID: "00000000-0000-4000-8000-000000000001"),
            instanceID: "instance",
            settings: NodeSettings(configuration),
            sandboxMappings: try! SandboxMappingStore(stateDirectory: makeTemporaryDirectory(), initial: [:]),
            events: try! EventLog(stateDirectory: makeTemporaryDirectory()),
            logger: Logger(label: "test")
        )
        return RPCDispatcher(methods: ControlMethods.make(node: node))
    }

    let stranger = ControlSession(
        caller: CallerIdentity(uid: 54321, gid: 54321, pid: 1, userName: "mallory"),
        connectionID: 1
    )

    @Test func getServerInfoHasEveryField() async throws {
        let info = try await dispatcher().call(RPCRequest(id: .number(1), method: "getServerInfo"), context: stranger)
            .get()
        for key in ["name", "version", "apiVersion", "revision", "nodeId", "instanceId", "userName", "superuser"] {
            #expect(info[key] != nil, "missing \(key)")
        }
        #expect(info["name"] == "test-node")
        #expect(info["userName"] == "mallory")
        #expect(info["superuser"] == false)
        #expect(OutpostVersion.revision.count == 40)
    }

    @Test func superuserIsRefusedToOrdinaryUsers() async {
        let outcome = await dispatcher().call(RPCRequest(id: .number(1), method: "superuser"), context: stranger)
        guard case .failure(let error) = outcome else {
            Issue.record("mallory became superuser")
            return
        }
        #expect(error.code == RPCError.permissionDeniedCode)
        #expect(!stranger.isSuperuser)
    }

    @Test func superuserIsGrantedToListedUsersForTheirConnectionOnly() async throws {
        let methods = dispatcher(superusers: ["mallory"])
        _ = try await methods.call(RPCRequest(id: .number(1), method: "superuser"), context: stranger).get()
        #expect(stranger.isSuperuser)
        let other = ControlSession(caller: stranger.caller, connectionID: 2)
        #expect(!other.isSuperuser)
    }
}
