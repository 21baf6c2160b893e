import Logging
import OutpostCore
import OutpostFiles
import OutpostRPC
import Testing

@testable import OutpostNode

@Suite("sandbox mappings")
struct SandboxMethodsTests {
    let directory = makeTemporaryDirectory()

    func dispatcher() throws -> RPCDispatcher<ControlSession> {
        let node = NodeContext(
            identity: NodeIdentity(nodeID: "00000000-0000-4000-8000-000000000002"),
            instanceID: "i",
            settings: NodeSettings(NodeConfiguration()),
            sandboxMappings: try SandboxMappingStore(stateDirectory: directory, initial: ["": ["home": "/srv/%u"]]),
            events: try EventLog(stateDirectory: directory),
            logger: Logger(label: "test")
        )
        return RPCDispatcher(methods: SandboxMethods.make(node: node))
    }

    func call(
        _ dispatcher: RPCDispatcher<ControlSession>,
        _ method: String,
        _ params: JSONValue? = nil,
        as session: ControlSession
    ) async -> Result<JSONValue, RPCError> {
        await dispatcher.call(RPCRequest(id: .number(1), method: method, params: params), context: session)
    }

    @Test func setGetDeleteAreSuperuserOnlyAndPersist() async throws {
        let methods = try dispatcher()
        let admin = ControlSession(caller: CallerIdentity(uid: 0, gid: 0, pid: 1, userName: "root"), connectionID: 1)
        let user = ControlSession(
            caller: CallerIdentity(uid: 4242, gid: 4242, pid: 2, userName: "alice"),
            connectionID: 2
        )
        admin.grantSuperuser()

        guard case .failure(let refused) = await call(methods, "getSandboxMappings", as: user) else {
            Issue.record("a non-superuser read the mappings")
            return
        }
        #expect(refused.code == RPCError.permissionDeniedCode)

        #expect(await call(methods, "getSandboxMappings", as: admin) == .success(["": ["home": "/srv/%u"]]))
        _ = try await call(
            methods,
            "setSandboxMapping",
            ["userName": "alice", "sandboxRoots": ["data": "/data/alice"]],
            as: admin
        ).get()
        _ = try await call(methods, "setSandboxMapping", ["userName": "bob", "sandboxRoots": false], as: admin).get()
        let expected: JSONValue = ["": ["home": "/srv/%u"], "alice": ["data": "/data/alice"], "bob": false]
        #expect(await call(methods, "getSandboxMappings", as: admin) == .success(expected))

        // A new store over the same directory (a restart) sees the same mappings, not the initial ones.
        let reopened = try SandboxMappingStore(stateDirectory: directory, initial: [:])
        #expect(SandboxMappingStore.json(reopened.current) == expected)

        _ = try await call(methods, "deleteSandboxMapping", ["userName": "bob"], as: admin).get()
        guard case .failure(let missing) = await call(methods, "deleteSandboxMapping", ["userName": "bob"], as: admin)
        else {
            Issue.record("deleting a missing mapping succeeded")
            return
        }
        #expect(missing.code == RPCError.notFoundCode)
    }

    @Test(arguments: [
        JSONValue.bool(true), ["x": "relative"], ["a:b": "/p"], ["a/b": "/p"], .string("/p"), ["x": 1],
    ])
    func badRootsAreInvalidParams(roots: JSONValue) async throws {
        let methods = try dispatcher()
        let admin = ControlSession(caller: CallerIdentity(uid: 0, gid: 0, pid: 1, userName: "root"), connectionID: 1)
        admin.grantSuperuser()
        guard
            case .failure(let error) = await call(
                methods,
                "setSandboxMapping",
                ["userName": "x", "sandboxRoots": roots],
                as: admin
            )
        else {
            Issue.record("accepted \(roots)")
            return
        }
        #expect(error.code == RPCError.invalidParamsCode)
    }

    @Test func policyUsesOwnThenSystemThenNothing() throws {
        let store = try SandboxMappingStore(
            stateDirectory: makeTemporaryDirectory(),
            initial: ["": ["home": "/srv/%u"], "carol": nil]
        )
        let policy = SandboxPolicy(store: store)
        let alice = ControlSession(caller: CallerIdentity(uid: 5, gid: 5, pid: 1, userName: "alice"), connectionID: 1)
        let carol = ControlSession(caller: CallerIdentity(uid: 6, gid: 6, pid: 1, userName: "carol"), connectionID: 2)
        #expect(policy.roots(for: alice) == .roots(["home": "/srv/alice"]))
        #expect(policy.roots(for: carol) == .unrestricted)
        let empty = SandboxPolicy(
            store: try SandboxMappingStore(stateDirectory: makeTemporaryDirectory(), initial: [:])
        )
        #expect(empty.roots(for: alice) == .roots([:]))
    }
}
