import Logging
import OutpostCore
import OutpostRPC

#if canImport(Glibc)
import Glibc
#endif

/// The foundation's control-API methods: `echo`, `getServerInfo` and `superuser`.
enum ControlMethods {
    static func make(node: NodeContext) -> [RPCMethod<ControlSession>] {
        @Sendable func echo(_ params: RPCParams, _: ControlSession) throws -> SerializedJSON {
            SerializedJSON(try params.optionalString("text").map(JSONValue.string) ?? .null)
        }
        return [
            RPCMethod("echo", parameters: ["text"], serialized: { try echo($0, $1) }, immediate: echo),
            RPCMethod("getServerInfo") { _, session in
                var info: [String: JSONValue] = [
                    "name": .string(node.settings.current.effectiveNodeName),
                    "version": .string(OutpostVersion.version),
                    "apiVersion": .string(OutpostVersion.apiVersion),
                    "revision": .string(OutpostVersion.revision),
                    "nodeId": .string(node.identity.nodeID),
                    "instanceId": .string(node.instanceID),
                    "userName": .string(session.caller.userName),
                    "superuser": .bool(session.isSuperuser),
                ]
                // The part of the token session a client passes back to `authToken` to join it.
                if let tokenSession = session.caller.tokenSession?.split(separator: ":", maxSplits: 1).last {
                    info["tokenSession"] = .string(String(tokenSession))
                }
                return .object(info)
            },
            RPCMethod("superuser") { _, session in
                let caller = session.caller
                let listed = node.settings.current.control.superusers.contains(caller.userName)
                guard caller.uid == 0 || caller.uid == getuid() || listed else {
                    throw RPCError.permissionDenied(
                        "\(caller.userName) is not a superuser: only root, the daemon's own user and the users in "
                            + "[control] superusers are"
                    )
                }
                session.grantSuperuser()
                node.logger.notice(
                    "superuser granted",
                    metadata: ["user": "\(caller.userName)", "connection": "\(session.connectionID)"]
                )
                return .null
            },
        ]
    }
}
