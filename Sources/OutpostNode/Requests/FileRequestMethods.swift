import Logging
import OutpostCore
import OutpostFiles
import OutpostRPC

/// accsyn's client API's asynchronous file methods and the request lifecycle calls around them.
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
            let id = try await registry.submit(method: method, owner: session.caller, summary: summary) {
                control throws(FileOperationError) in .value(try work(control))
            }
            return ["requestId": .integer(id)]
        }
        @Sendable func resolver(for session: ControlSession) -> SandboxResolver {
            node.sandboxPolicy.resolver(for: session)
        }
        @Sendable func sandboxPath(_ params: RPCParams, _ name: String) throws -> SandboxPath {
            do {
                return try SandboxPath(try params.string(name))
            } catch let error as FileOperationError {
                throw RPCError(fileError: error)
            }
        }

        /// A small directory listed on the spot and recorded as a finished request: its id, or nil when the
        /// directory is large (or on a network file system) and goes to the worker pool, as does `directory: true`
        /// (a stat of the path, which this cannot tell apart from one on a network file system before making it).
        /// A path that is refused is recorded as a failed request, as the pool would have.
        @Sendable func listSmallDirectory(_ params: RPCParams, _ session: ControlSession) throws -> SerializedJSON? {
            let path = try sandboxPath(params, "path")
            guard try params.optionalBool("directory") != true else { return nil }
            let control = OperationControl()
            let outcome: Result<RPCResult, FileOperationError>
            do throws(FileOperationError) {
                guard
                    let entries = try FileListing.listIfSmall(
                        path,
                        resolver: resolver(for: session),
                        caller: session.fileCaller,
                        maximumDirectoryBytes: smallDirectoryBytes,
                        control: control
                    )
                else { return nil }
                outcome = .success(.serialized(FileEntry.listingJSON(path: path.text, entries: entries)))
            } catch {
                outcome = .failure(error)
            }
            let id = registry.recordFinished(
                method: "lsAsync",
                owner: session.caller,
                summary: ["path": .string(path.text)],
                outcome: outcome,
                control: control
            )
            return SerializedJSON(["requestId": .integer(id)])
        }
        @Sendable func resultTimeout(_ params: RPCParams) throws -> Duration? {
            try params.optionalInteger("timeoutSeconds", in: 0...86400).map { Duration.seconds($0) }
        }
        @Sendable func status(_ params: RPCParams, _ session: ControlSession) throws -> SerializedJSON {
            SerializedJSON(
                try registry.status(
                    try params.integer("requestId"),
                    caller: session.caller,
                    superuser: session.isSuperuser
                )
            )
        }

        return [
            RPCMethod(
                "lsAsync",
                parameters: ["path", "directory"],
                serialized: { params, session in
                    if let answered = try listSmallDirectory(params, session) { return answered }
                    let path = try sandboxPath(params, "path")
                    let directory = try params.optionalBool("directory") ?? false
                    let (resolver, caller) = (resolver(for: session), session.fileCaller)
                    let id = try await registry.submit(
                        method: "lsAsync",
                        owner: session.caller,
                        summary: ["path": .string(path.text)]
                    ) { control throws(FileOperationError) in
                        let entries = try FileListing.list(
                            path,
                            directoryItself: directory,
                            resolver: resolver,
                            caller: caller,
                            control: control
                        )
                        return .serialized(FileEntry.listingJSON(path: path.text, entries: entries))
                    }
                    return SerializedJSON(["requestId": .integer(id)])
                },
                immediate: listSmallDirectory
            ),
            RPCMethod("lsRootsAsync") { _, session in
                let resolver = node.sandboxPolicy.resolver(for: session)
                let roots = resolver.roots
                let caller = session.fileCaller
                return try await submit("lsRootsAsync", session) { _ throws(FileOperationError) in
                    var files: [JSONValue] = []
                    for root in roots.listing {
                        let path = try SandboxPath(root.name.isEmpty ? "/" : root.name + ":")
                        // A root whose directory is missing is still listed, with no access.
                        var entry =
                            (try? FileListing.describe(path, resolver: resolver, caller: caller))
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
                let caller = session.caller
                return try await submit(
                    "mvAsync",
                    session,
                    ["path": .string(path.text), "newPath": .string(newPath.text)]
                ) { control throws(FileOperationError) in
                    try FileMutations.move(
                        path,
                        to: newPath,
                        resolver: resolver,
                        control: control,
                        owner: (caller.uid, caller.gid)
                    )
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
            RPCMethod(
                "getRequestStatus",
                parameters: ["requestId"],
                serialized: { params, session in try status(params, session) },
                immediate: status
            ),
            RPCMethod(
                "getRequestResult",
                parameters: ["requestId", "timeoutSeconds"],
                serialized: { params, session in
                    try await registry.result(
                        try params.integer("requestId"),
                        caller: session.caller,
                        superuser: session.isSuperuser,
                        timeout: try resultTimeout(params)
                    ).serialized
                },
                immediate: { params, session in
                    _ = try resultTimeout(params)  // checked the same way, though a finished result needs no wait
                    return try registry.finishedResult(
                        try params.integer("requestId"),
                        caller: session.caller,
                        superuser: session.isSuperuser
                    )?.serialized
                }
            ),
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

    /// Directories up to this size (`st_size`: one or two blocks on ext4, a few hundred entries) are listed where
    /// the request arrives; larger ones on the worker pool.
    static let smallDirectoryBytes = 8192

    static func requireSuperuser(_ session: ControlSession, _ method: String) throws(RPCError) {
        guard session.isSuperuser else {
            throw .permissionDenied("\(method) needs superuser (call superuser() first)")
        }
    }
}

extension FileEntry {
    /// An `ls` result, `{files, path}`, written straight from the entries: the same bytes as serializing it as a
    /// `JSONValue`, without a dictionary per entry.
    static func listingJSON(path: String, entries: [FileEntry]) -> SerializedJSON {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(entries.count * 96 + path.utf8.count + 24)
        JSONCoding.append(syntax: #"{"files":["#, to: &bytes)
        for (position, entry) in entries.enumerated() {
            if position > 0 { bytes.append(UInt8(ascii: ",")) }
            entry.appendJSON(to: &bytes)
        }
        JSONCoding.append(syntax: #"],"path":"#, to: &bytes)
        JSONCoding.append(string: path, to: &bytes)
        bytes.append(UInt8(ascii: "}"))
        return SerializedJSON(serialized: bytes)
    }

    /// `json`'s bytes, keys in sorted order as `JSONCoding` writes them.
    func appendJSON(to bytes: inout [UInt8]) {
        JSONCoding.append(syntax: #"{"access":"#, to: &bytes)
        JSONCoding.append(integer: Int64(access), to: &bytes)
        JSONCoding.append(syntax: #","mtime":"#, to: &bytes)
        JSONCoding.append(double: modified, to: &bytes)
        JSONCoding.append(syntax: #","name":"#, to: &bytes)
        JSONCoding.append(string: name, to: &bytes)
        JSONCoding.append(syntax: #","size":"#, to: &bytes)
        JSONCoding.append(integer: size, to: &bytes)
        JSONCoding.append(syntax: #","type":"#, to: &bytes)
        JSONCoding.append(integer: Int64(kind.rawValue), to: &bytes)
        bytes.append(UInt8(ascii: "}"))
    }

    var json: JSONValue {
        [
            "name": .string(name), "type": .integer(Int64(kind.rawValue)), "size": .integer(size),
            "mtime": .double(modified), "access": .integer(Int64(access)),
        ]
    }
}
