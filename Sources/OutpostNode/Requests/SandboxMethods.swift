import Logging
import OutpostCore
import OutpostRPC

#if canImport(Glibc)
import Glibc
#endif

/// accsyn's client API's sandbox-mapping calls, plus `terminate` and `sleep`: all superuser only.
enum SandboxMethods {
    static func make(node: NodeContext) -> [RPCMethod<ControlSession>] {
        [
            RPCMethod("getSandboxMappings") { _, session in
                try FileRequestMethods.requireSuperuser(session, "getSandboxMappings")
                return SandboxMappingStore.json(node.sandboxMappings.current)
            },
            RPCMethod("setSandboxMapping", parameters: ["userName", "sandboxRoots"]) { params, session in
                try FileRequestMethods.requireSuperuser(session, "setSandboxMapping")
                let userName = try params.string("userName")
                let mapping = try parseRoots(params.raw("sandboxRoots"))
                try store(node, userName: userName, mapping: .some(mapping), by: session)
                return .null
            },
            RPCMethod("deleteSandboxMapping", parameters: ["userName"]) { params, session in
                try FileRequestMethods.requireSuperuser(session, "deleteSandboxMapping")
                let userName = try params.string("userName")
                guard node.sandboxMappings.current[userName] != nil else {
                    throw RPCError.notFound("no sandbox mapping for user '\(userName)'")
                }
                try store(node, userName: userName, mapping: nil, by: session)
                return .null
            },
            RPCMethod("terminate") { _, session in
                try FileRequestMethods.requireSuperuser(session, "terminate")
                node.logger.notice("terminate requested", metadata: ["user": "\(session.caller.userName)"])
                // The same path as `systemctl stop`: a graceful stop, exit 0, no restart.
                kill(getpid(), SIGTERM)
                return .null
            },
            RPCMethod("sleep", parameters: ["milliseconds"]) { params, session in
                try FileRequestMethods.requireSuperuser(session, "sleep")
                try await Task.sleep(for: .milliseconds(try params.integer("milliseconds", in: 0...3_600_000)))
                return .null
            },
        ]
    }

    /// `{name: "/absolute/path"}` or `false`.
    static func parseRoots(_ value: JSONValue?) throws(RPCError) -> [String: String]? {
        switch value {
        case .some(.bool(false)):
            return nil
        case .some(.object(let named)):
            var roots: [String: String] = [:]
            for (name, path) in named {
                guard !name.contains(":"), !name.contains("/") else {
                    throw .invalidParams("sandbox root name '\(name)' may not contain ':' or '/'")
                }
                guard let text = path.stringValue, text.hasPrefix("/"), !text.utf8.contains(0) else {
                    throw .invalidParams("sandbox root '\(name)' must be an absolute path")
                }
                roots[name] = text
            }
            return roots
        default:
            throw .invalidParams("sandboxRoots must be an object {name: \"/absolute/path\"} or false")
        }
    }

    private static func store(
        _ node: NodeContext,
        userName: String,
        mapping: [String: String]??,
        by session: ControlSession
    ) throws(RPCError) {
        do {
            try node.sandboxMappings.update(userName: userName, to: mapping)
        } catch {
            throw RPCError(code: RPCError.operationFailedCode, message: "cannot save the sandbox mappings: \(error)")
        }
        node.logger.notice(
            "sandbox mapping changed",
            metadata: [
                "target_user": "\(userName)", "by": "\(session.caller.userName)", "deleted": "\(mapping == nil)",
            ]
        )
        var fields: [String: JSONValue] = ["targetUser": .string(userName), "byUser": .string(session.caller.userName)]
        switch mapping {
        case .none: fields["deleted"] = true
        case .some(.none): fields["sandboxRoots"] = false
        case .some(.some(let roots)): fields["sandboxRoots"] = .object(roots.mapValues { .string($0) })
        }
        node.events.record("sandboxChanged", fields)
    }
}
