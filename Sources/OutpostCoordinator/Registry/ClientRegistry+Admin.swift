import GRDB
import OutpostCheckin
import OutpostRPC

/// The admin API's operations on the registry, named as in docs/coordinator.md: `find`, `update`, `delete_one`.
extension ClientRegistry {
    /// Clients matching `query` (`Client where status=online and site_hr=hq`), oldest first.
    public func find(_ query: String) async throws -> [JSONValue] {
        let parsed = try ClientQuery.parse(query)
        let now = clockNow()
        var compiler = ClientQuerySQL(onlineCutoff: now - offlineGrace)
        let condition = try compiler.condition(parsed)
        let arguments = StatementArguments(compiler.arguments)
        let grace = offlineGrace
        return try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: ClientQuerySQL.selection + " WHERE \(condition)" + ClientQuerySQL.order,
                arguments: arguments
            ).map { ClientEntity.json($0, now: now, offlineGrace: grace) }
        }
    }

    /// One client as an entity, or nil.
    public func client(_ id: String) async throws -> JSONValue? {
        let now = clockNow()
        let grace = offlineGrace
        return try await pool.read { db in
            try Self.row(db, id: id).map { ClientEntity.json($0, now: now, offlineGrace: grace) }
        }
    }

    static func row(_ db: Database, id: String) throws -> Row? {
        try Row.fetchOne(db, sql: ClientQuerySQL.selection + " WHERE c.id = ?", arguments: [id])
    }

    /// The attributes `update` may change.
    public static let updatableAttributes: Set<String> = ["status", "description", "metadata", "site"]

    /// Changes a client's status (by the status table, docs/coordinator.md), description, metadata or site, and returns the entity.
    public func update(id: String, data: JSONValue, modifierID: String) async throws -> JSONValue {
        guard case .object(let changes) = data, !changes.isEmpty else {
            throw RegistryError(.invalid, "update needs an object of changes, such as {\"status\": \"disabled\"}")
        }
        if let unknown = changes.keys.sorted().first(where: { !Self.updatableAttributes.contains($0) }) {
            throw RegistryError(
                .invalid,
                "'\(unknown)' cannot be updated; only \(Self.updatableAttributes.sorted().joined(separator: ", ")) can"
            )
        }
        let now = clockNow()
        let grace = offlineGrace
        return try await pool.write { db in
            guard let row = try Self.row(db, id: id) else {
                throw RegistryError(.notFound, "no client has the id '\(id)'")
            }
            let current = ClientStatus(
                disabled: row["disabled"],
                lastCheckin: row["last_checkin"],
                now: now,
                offlineGrace: grace
            )
            if let status = changes["status"] {
                guard case .string(let requested) = status else {
                    throw RegistryError(.invalid, "'status' must be a string: online or disabled")
                }
                let disabled = try StatusTransition.disabledFlag(clientID: id, from: current, to: requested)
                try db.execute(sql: "UPDATE clients SET disabled = ? WHERE id = ?", arguments: [disabled, id])
            }
            if let description = changes["description"] {
                guard case .string(let text) = description, text.utf8.count <= 1024, !text.utf8.contains(0) else {
                    throw RegistryError(.invalid, "'description' must be a string of at most 1024 bytes")
                }
                try db.execute(sql: "UPDATE clients SET description = ? WHERE id = ?", arguments: [text, id])
            }
            if let metadata = changes["metadata"] {
                guard case .object = metadata else {
                    throw RegistryError(.invalid, "'metadata' must be an object")
                }
                let text = JSONCoding.serializeToString(metadata)
                guard text.utf8.count <= 64 * 1024 else {
                    throw RegistryError(.invalid, "'metadata' is larger than 64 KiB")
                }
                try db.execute(sql: "UPDATE clients SET metadata = ? WHERE id = ?", arguments: [text, id])
            }
            if let site = changes["site"] {
                guard case .string(let name) = site, !name.isEmpty, name.utf8.count <= 64 else {
                    throw RegistryError(.invalid, "'site' must be a site name or id of 1 to 64 bytes")
                }
                let siteID = try Self.siteID(db, nameOrID: name, create: true)
                try db.execute(
                    sql: "UPDATE clients SET site_id = ? WHERE id = ? OR parent = ?",
                    arguments: [siteID, id, id]
                )
            }
            try db.execute(
                sql: "UPDATE clients SET modified = ?, modifier = ? WHERE id = ?",
                arguments: [now, modifierID, id]
            )
            guard let updated = try Self.row(db, id: id) else {
                throw RegistryError(.notFound, "no client has the id '\(id)'")
            }
            return ClientEntity.json(updated, now: now, offlineGrace: grace)
        }
    }

    /// Deletes an offline client with its lanes. An online client is refused (stop it first), and a lane cannot be
    /// deleted on its own: lanes follow the node's lane count.
    public func deleteOne(id: String) async throws {
        let now = clockNow()
        let grace = offlineGrace
        try await pool.write { db in
            guard let row = try Self.row(db, id: id) else {
                throw RegistryError(.notFound, "no client has the id '\(id)'")
            }
            if let parent: String = row["parent"] {
                throw RegistryError(
                    .conflict,
                    "client \(id) is a compute lane of \(parent); lanes follow the node's [lanes] count, so change that "
                        + "or delete the node"
                )
            }
            let status = ClientStatus(
                disabled: row["disabled"],
                lastCheckin: row["last_checkin"],
                now: now,
                offlineGrace: grace
            )
            guard status == .offline || status == .disabledOffline else {
                throw RegistryError(
                    .conflict,
                    "client \(id) is \(status.rawValue): only an offline client can be deleted (stop its daemon and "
                        + "wait for the offline grace)"
                )
            }
            // Lanes go with it (ON DELETE CASCADE).
            try db.execute(sql: "DELETE FROM clients WHERE id = ?", arguments: [id])
        }
    }
}
