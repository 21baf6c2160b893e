import Logging
import OutpostCore
import OutpostFiles
import OutpostRPC

/// The seed API's asynchronous file methods and the request lifecycle calls around them.
///
/// Each `*Async` method validates its parameters and the caller's sandbox at once (so a bad path is an immediate
/// JSON-RPC error), then queues the operation and returns `{requestId}`.
enum FileRequestMethods {
    static func make(node: NodeContext, registry: RequestRegistry) -> [RPCMethod<ControlSession>] {
        @Sendable func submit(
            _ method: String,
            _ session: ControlSession,
            _ summary: [String: JSONValue] = [:],
            _ work: @escaping @Sendable (OperationControl) throws(FileOperationError) -> JSONValue
        ) async throws -> JSONValue {
            let id = try await registry.submit(method: method, owner: session.caller, summary: summary, work: work)
            return ["requestId": .integer(id)]
        }
        @Sendable func resolver(for session: ControlSession) -> SandboxResolver {
            SandboxResolver(roots: node.sandboxPolicy.roots(for: session))
        }
        @Sendable func sandboxPath(_ params: RPCParams, _ name: String) throws -> SandboxPath {
            do {
                return try SandboxPath(try params.string(name))
            } catch let error as FileOperationError {
                throw RPCError(fileError: error)
            }
        }

        return [
            RPCMethod("lsAsync", parameters: ["path", "directory"]) { params, session in
                let path = try sandboxPath(params, "path")
                let directory = try params.optionalBool("directory") ?? false
                let (resolver, caller) = (resolver(for: session), session.fileCaller)
                return try await submit("lsAsync", session, ["path": .string(path.text)]) {
                    control throws(FileOperationError) in
                    let entries = try FileListing.list(
                        path,
                        directoryItself: directory,
                        resolver: resolver,
                        caller: caller,
                        control: control
                    )
                    return ["path": .string(path.text), "files": .array(entries.map(\.json))]
                }
            },
            RPCMethod("lsRootsAsync") { _, session in
                let roots = node.sandboxPolicy.roots(for: session)
                let caller = session.fileCaller
                return try await submit("lsRootsAsync", session) { _ throws(FileOperationError) in
                    var files: [JSONValue] = []
                    for root in roots.listing {
                        let path = try SandboxPath(root.name.isEmpty ? "/" : root.name + ":")
                        // A root whose directory is missing is still listed, with no access.
                        var entry =
                            (try? FileListing.describe(path, resolver: SandboxResolver(roots: roots), caller: caller))
                            ?? FileEntry(name: root.name, kind: .root, size: 0, modified: 0, access: 0)
                        entry.name = root.name
                        entry.kind = .root
                        files.append(entry.json)
                    }
                    return ["path": "", "files": .array(files)]
                }
            },
            RPCMethod("duAsync", parameters: ["path"]) { params, session in
                let path = try sandboxPath(params, "path")
                let resolver = resolver(for: session)
                return try await submit("duAsync", session, ["path": .string(path.text)]) {
                    control throws(FileOperationError) in
                    ["du": .integer(try FileListing.diskUsage(path, resolver: resolver, control: control))]
                }
            },
            RPCMethod("mkdirAsync", parameters: ["path"]) { params, session in
                let path = try sandboxPath(params, "path")
                let resolver = resolver(for: session)
                let caller = session.caller
                return try await submit("mkdirAsync", session, ["path": .string(path.text)]) {
                    _ throws(FileOperationError) in
                    try FileMutations.makeDirectory(path, resolver: resolver, owner: (caller.uid, caller.gid))
                    return .null
                }
            },
            RPCMethod("mvAsync", parameters: ["path", "newPath"]) { params, session in
                let (path, newPath) = (try sandboxPath(params, "path"), try sandboxPath(params, "newPath"))
                let resolver = resolver(for: session)
                return try await submit(
                    "mvAsync",
                    session,
                    ["path": .string(path.text), "newPath": .string(newPath.text)]
                ) { control throws(FileOperationError) in
                    try FileMutations.move(path, to: newPath, resolver: resolver, control: control)
                    return .null
                }
            },
            RPCMethod("rmAsync", parameters: ["path"]) { params, session in
                let path = try sandboxPath(params, "path")
                let resolver = resolver(for: session)
                return try await submit("rmAsync", session, ["path": .string(path.text)]) {
                    control throws(FileOperationError) in
                    try FileMutations.remove(path, resolver: resolver, control: control)
                    return .null
                }
            },
            RPCMethod("getRequestStatus", parameters: ["requestId"]) { params, session in
                try await registry.status(
                    try params.integer("requestId"),
                    caller: session.caller,
                    superuser: session.isSuperuser
                )
            },
            RPCMethod("getRequestResult", parameters: ["requestId", "timeoutSeconds"]) { params, session in
                let timeout = try params.optionalInteger("timeoutSeconds", in: 0...86400).map { Duration.seconds($0) }
                return try await registry.result(
                    try params.integer("requestId"),
                    caller: session.caller,
                    superuser: session.isSuperuser,
                    timeout: timeout
                )
            },
            RPCMethod("cancelRequest", parameters: ["requestId"]) { params, session in
                try await registry.cancel(
                    try params.integer("requestId"),
                    caller: session.caller,
                    superuser: session.isSuperuser
                )
                return .null
            },
            RPCMethod("listRequests") { _, session in
                await registry.list(caller: session.caller, superuser: session.isSuperuser)
            },
            RPCMethod("garbageCollect", parameters: ["force"]) { params, session in
                try requireSuperuser(session, "garbageCollect")
                let force = try params.optionalBool("force") ?? false
                let removed = await registry.collectGarbage(force: force)
                node.logger.info("garbage collection", metadata: ["removed": "\(removed)"])
                node.events.record(
                    "gcRun",
                    [
                        "removed": .integer(Int64(removed)), "force": .bool(force),
                        "byUser": .string(session.caller.userName),
                    ]
                )
                return .null
            },
            RPCMethod("updateGarbageCollectSettings", parameters: ["intervalSeconds", "timeLimitSeconds"]) {
                params,
                session in
                try requireSuperuser(session, "updateGarbageCollectSettings")
                var settings = await registry.settings
                if let interval = try params.optionalInteger("intervalSeconds", in: 60...2_147_483_647) {
                    settings.intervalSeconds = interval
                }
                if let limit = try params.optionalInteger("timeLimitSeconds", in: 0...2_147_483_647) {
                    settings.timeLimitSeconds = limit
                }
                await registry.updateSettings(settings)
                node.events.record(
                    "gcSettingsChanged",
                    [
                        "intervalSeconds": .integer(settings.intervalSeconds),
                        "timeLimitSeconds": .integer(settings.timeLimitSeconds),
                        "byUser": .string(session.caller.userName),
                    ]
                )
                return [
                    "intervalSeconds": .integer(settings.intervalSeconds),
                    "timeLimitSeconds": .integer(settings.timeLimitSeconds),
                ]
            },
        ]
    }

    static func requireSuperuser(_ session: ControlSession, _ method: String) throws(RPCError) {
        guard session.isSuperuser else {
            throw .permissionDenied("\(method) needs superuser (call superuser() first)")
        }
    }
}

extension FileEntry {
    var json: JSONValue {
        [
            "name": .string(name), "type": .integer(Int64(kind.rawValue)), "size": .integer(size),
            "mtime": .double(modified), "access": .integer(Int64(access)),
        ]
    }
}
