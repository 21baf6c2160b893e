import GRDB
import OutpostCheckin
import OutpostCore
import OutpostCrypto
import OutpostRPC

#if canImport(Glibc)
import Glibc
#endif

/// The coordinator's knowledge of its fleet: enrollment, check-ins, and the admin's find / update / delete.
///
/// Every change is one transaction. Statuses are never stored: a client has a `disabled` flag and a last check-in,
/// and `ClientStatus(disabled:lastCheckin:…)` derives online, offline, disabled and disabled-offline from them, so a
/// client goes offline exactly `offlineGrace` after its last check-in without any sweeper.
public final class ClientRegistry: Sendable {
    let pool: DatabasePool
    public let offlineGrace: Double
    public let checkinInterval: Double
    private let clock: @Sendable () -> Double

    func clockNow() -> Double { clock() }

    public init(
        path: String,
        offlineGrace: Double,
        checkinInterval: Double,
        clock: @escaping @Sendable () -> Double = WallClock.seconds
    ) throws {
        pool = try RegistryDatabase.open(path: path)
        self.offlineGrace = offlineGrace
        self.checkinInterval = checkinInterval
        self.clock = clock
    }

    static func newID() -> String { Hex.encode(SecretBytes.random(count: 12)) }

    /// Secrets and tokens are kept as SHA-256 hex: a copy of the registry file does not let anyone check in.
    static func hash(_ secret: String) -> String { Hex.encode(MessageDigest.hash(.sha256, secret.utf8)) }

    // MARK: Users and sites

    /// The id of the admin user `name`, created on first use. API keys act as this user: it is `modifier` on their
    /// changes and `user` on the clients their tokens enroll.
    public func adminUser(name: String) async throws -> String {
        try await pool.write { db in
            if let id = try String.fetchOne(db, sql: "SELECT id FROM users WHERE name = ?", arguments: [name]) {
                return id
            }
            let id = Self.newID()
            try db.execute(sql: "INSERT INTO users (id, name, role) VALUES (?, ?, 'admin')", arguments: [id, name])
            return id
        }
    }

    /// The id of the site named `name` (or with that id), created when `create` and it does not exist.
    static func siteID(_ db: Database, nameOrID: String, create: Bool) throws -> String? {
        if let id = try String.fetchOne(
            db,
            sql: "SELECT id FROM sites WHERE name = ? OR id = ?",
            arguments: [nameOrID, nameOrID]
        ) {
            return id
        }
        guard create else { return nil }
        let id = Self.newID()
        try db.execute(sql: "INSERT INTO sites (id, name) VALUES (?, ?)", arguments: [id, nameOrID])
        return id
    }

    // MARK: Enrollment tokens

    /// Makes an enrollment token for `site`, valid for `lifetime` seconds and, when `uses` is given, that many
    /// enrollments. Only its hash is kept: the token is shown once.
    public func createToken(
        site: String,
        lifetime: Double,
        uses: Int?,
        creatorID: String
    ) async throws -> (token: String, id: String, expires: Double) {
        guard !site.isEmpty, site.utf8.count <= 64 else {
            throw RegistryError(.invalid, "a site name is 1 to 64 bytes")
        }
        guard lifetime > 0, lifetime <= 366 * 86_400 else {
            throw RegistryError(.invalid, "a token lives between 1 second and 366 days")
        }
        if let uses, uses < 1 { throw RegistryError(.invalid, "uses must be at least 1") }
        let token = Hex.encode(SecretBytes.random(count: 24))
        let id = Self.newID()
        let now = clock()
        try await pool.write { db in
            let siteID = try Self.siteID(db, nameOrID: site, create: true)
            try db.execute(
                sql: """
                    INSERT INTO enrollment_tokens (id, token_hash, site_id, user_id, created, expires, uses_left)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [id, Self.hash(token), siteID, creatorID, now, now + lifetime, uses]
            )
        }
        return (token, id, now + lifetime)
    }

    /// Checks a token without using it up: its site and expiry, or why it cannot enroll.
    public func validateToken(_ token: String) async throws -> (site: String, expires: Double) {
        let now = clock()
        return try await pool.read { db in
            let row = try Self.usableToken(db, token: token, now: now)
            return (row["site_name"], row["expires"])
        }
    }

    private static func usableToken(_ db: Database, token: String, now: Double) throws -> Row {
        guard
            let row = try Row.fetchOne(
                db,
                sql: """
                    SELECT t.*, s.name AS site_name FROM enrollment_tokens t JOIN sites s ON s.id = t.site_id
                    WHERE t.token_hash = ?
                    """,
                arguments: [hash(token)]
            )
        else { throw RegistryError(.forbidden, "the enrollment token is not known to this coordinator") }
        let expires: Double = row["expires"]
        guard expires > now else {
            throw RegistryError(.forbidden, "the enrollment token expired at \(ClientTimestamp.format(expires)) UTC")
        }
        if let usesLeft: Int = row["uses_left"], usesLeft <= 0 {
            throw RegistryError(.forbidden, "the enrollment token has been used as many times as it allows")
        }
        return row
    }

    // MARK: Enrollment and check-in

    /// Registers a new node: uses the token once, creates the client and its lanes, and returns the reply with the
    /// client's secret (kept only as a hash here).
    public func enroll(token: String, report: CheckinReport, wanIP: String) async throws -> (CheckinReply, String) {
        let secret = Hex.encode(SecretBytes.random(count: 32))
        let now = clock()
        let reply = try await pool.write { db in
            let tokenRow = try Self.usableToken(db, token: token, now: now)
            try db.execute(
                sql: "UPDATE enrollment_tokens SET uses_left = uses_left - 1 WHERE id = ? AND uses_left IS NOT NULL",
                arguments: [tokenRow["id"] as String]
            )
            let id = Self.newID()
            let userID: String = tokenRow["user_id"]
            var siteID: String = tokenRow["site_id"]
            if let site = report.site, let reported = try Self.siteID(db, nameOrID: site, create: true) {
                siteID = reported
            }
            try db.execute(
                sql: """
                    INSERT INTO clients (id, code, user_id, created, type, site_id, description, metadata, modified,
                                         modifier, secret_hash, node_profile)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    id, report.code, userID, now, report.type.rawValue, siteID, report.description ?? "",
                    JSONCoding.serializeToString(report.metadata ?? [:]), now, userID, Self.hash(secret),
                    Self.profile(of: report),
                ]
            )
            guard let stored = try Self.storedState(db, clientID: id) else {
                throw RegistryError(.notFound, "client \(id) vanished during its enrollment")
            }
            return try self.recordCheckin(db, clientID: id, report: report, wanIP: wanIP, now: now, stored: stored)
        }
        return (reply, secret)
    }

    /// A check-in from an enrolled node: authenticates it, stores its report, matches its lane clients to its lanes,
    /// and answers with its status.
    public func checkin(
        clientID: String,
        secret: String,
        report: CheckinReport,
        wanIP: String
    ) async throws
        -> CheckinReply
    {
        let now = clock()
        let presented = Self.hash(secret)
        return try await pool.write { db in
            guard let stored = try Self.storedState(db, clientID: clientID),
                let secretHash: String = stored["secret_hash"],
                SecretBytes.equal(Array(secretHash.utf8), Array(presented.utf8))
            else {
                throw RegistryError(
                    .unauthorized,
                    "unknown client or wrong secret; the client may have been deleted: enroll the node again"
                )
            }
            return try self.recordCheckin(
                db,
                clientID: clientID,
                report: report,
                wanIP: wanIP,
                now: now,
                stored: stored
            )
        }
    }

    /// What a check-in reads of the client before it writes, in one query: the secret to check, the node's profile as
    /// last sent, the disabled flag and the site's name (the last two go into the reply).
    private static func storedState(_ db: Database, clientID: String) throws -> Row? {
        try Row.fetchOne(
            db.cachedStatement(
                sql: """
                    SELECT c.secret_hash, c.node_profile, c.disabled, s.name AS site_name
                    FROM clients c JOIN sites s ON s.id = c.site_id WHERE c.id = ?
                    """
            ),
            arguments: [clientID]
        )
    }

    /// The node's own description, site and metadata as one text, to tell when they change on the node.
    private static func profile(of report: CheckinReport) -> String {
        JSONCoding.serializeToString(
            [
                "description": report.description.map(JSONValue.string) ?? .null,
                "site": report.site.map(JSONValue.string) ?? .null, "metadata": report.metadata ?? .null,
            ]
        )
    }

    private func recordCheckin(
        _ db: Database,
        clientID: String,
        report: CheckinReport,
        wanIP: String,
        now: Double,
        stored: Row
    ) throws -> CheckinReply {
        let profile = Self.profile(of: report)
        var siteName: String = stored["site_name"]
        // The node's own description, site and metadata apply when they change on the node, not at every check-in.
        if (stored["node_profile"] as String?) != profile {
            if let description = report.description {
                try db.execute(
                    sql: "UPDATE clients SET description = ? WHERE id = ?",
                    arguments: [description, clientID]
                )
            }
            if let metadata = report.metadata {
                try db.execute(
                    sql: "UPDATE clients SET metadata = ? WHERE id = ?",
                    arguments: [JSONCoding.serializeToString(metadata), clientID]
                )
            }
            if let site = report.site, let siteID = try Self.siteID(db, nameOrID: site, create: true) {
                try db.execute(
                    sql: "UPDATE clients SET site_id = ? WHERE id = ? OR parent = ?",
                    arguments: [siteID, clientID, clientID]
                )
                siteName =
                    try String.fetchOne(db, sql: "SELECT name FROM sites WHERE id = ?", arguments: [siteID])
                    ?? siteName
            }
        }
        try db.cachedStatement(
            sql: """
                UPDATE clients SET code = ?, type = ?, os = ?, username = ?, version = ?, host_id = ?, wan_ip = ?,
                    metrics = ?, last_checkin = ?, modified = ?, modifier = ?, node_profile = ?
                WHERE id = ?
                """
        ).execute(arguments: [
            report.code, report.type.rawValue, report.os, report.username, report.version, report.hostID, wanIP,
            JSONCoding.serializeToString(report.metrics.json), now, now, clientID, profile, clientID,
        ])
        let lanes = try matchLanes(db, parentID: clientID, report: report, wanIP: wanIP, now: now)
        let status: ClientStatus = (stored["disabled"] as Bool) ? .disabled : .online
        return CheckinReply(id: clientID, status: status, interval: checkinInterval, site: siteName, lanes: lanes)
    }

    /// Makes the parent's type-5 lane clients match the reported lanes: new ones created, gone ones removed, the rest
    /// stamped with this check-in.
    private func matchLanes(
        _ db: Database,
        parentID: String,
        report: CheckinReport,
        wanIP: String,
        now: Double
    ) throws -> [CheckinReply.Lane] {
        var existing: [Int64: (id: String, disabled: Bool)] = [:]
        let rows = try Row.fetchAll(
            db.cachedStatement(sql: "SELECT id, lane_index, disabled FROM clients WHERE parent = ?"),
            arguments: [parentID]
        )
        for row in rows { existing[row["lane_index"]] = (row["id"], row["disabled"]) }
        var lanes: [CheckinReply.Lane] = []
        for lane in report.lanes {
            if let known = existing.removeValue(forKey: lane.index) {
                try db.cachedStatement(
                    sql: """
                        UPDATE clients SET code = ?, os = ?, username = ?, version = ?, host_id = ?, wan_ip = ?,
                            benchmark = ?, last_checkin = ? WHERE id = ?
                        """
                ).execute(arguments: [
                    "\(report.code):\(lane.index)", report.os, report.username, report.version, report.hostID, wanIP,
                    lane.benchmark, now, known.id,
                ])
                lanes.append(.init(index: lane.index, id: known.id, status: known.disabled ? .disabled : .online))
            } else {
                let id = Self.newID()
                try db.execute(
                    sql: """
                        INSERT INTO clients (id, code, user_id, created, type, site_id, os, username, version, host_id,
                                             wan_ip, parent, lane_index, benchmark, last_checkin, modified, modifier)
                        SELECT ?, ?, user_id, ?, 5, site_id, ?, ?, ?, ?, ?, id, ?, ?, ?, ?, id FROM clients WHERE id = ?
                        """,
                    arguments: [
                        id, "\(report.code):\(lane.index)", now, report.os, report.username, report.version,
                        report.hostID, wanIP, lane.index, lane.benchmark, now, now, parentID,
                    ]
                )
                lanes.append(.init(index: lane.index, id: id, status: .online))
            }
        }
        for gone in existing.values {
            try db.execute(sql: "DELETE FROM clients WHERE id = ?", arguments: [gone.id])
        }
        return lanes
    }
}
