import OutpostRPC

/// The coordinator's answer to a check-in: who the node is, what it may do, and when to come back.
public struct CheckinReply: Sendable, Equatable {
    /// One lane's client id and status, so a single lane can be disabled on its own.
    public struct Lane: Sendable, Equatable {
        public var index: Int64
        public var id: String
        public var status: ClientStatus

        public init(index: Int64, id: String, status: ClientStatus) {
            self.index = index
            self.id = id
            self.status = status
        }
    }

    public var id: String
    public var status: ClientStatus
    /// Seconds until the next check-in (the node adds jitter).
    public var interval: Double
    public var site: String
    public var lanes: [Lane]

    public init(id: String, status: ClientStatus, interval: Double, site: String, lanes: [Lane]) {
        self.id = id
        self.status = status
        self.interval = interval
        self.site = site
        self.lanes = lanes
    }

    public var json: JSONValue {
        [
            "id": .string(id), "status": .string(status.rawValue), "interval": .double(interval), "site": .string(site),
            "lanes": .array(
                lanes.map {
                    ["index": .integer($0.index), "id": .string($0.id), "status": .string($0.status.rawValue)]
                }
            ),
        ]
    }

    public init(json: JSONValue) throws(RPCError) {
        let params = try RPCParams(
            method: "checkin reply",
            params: json,
            allowed: ["id", "status", "interval", "site", "lanes", "secret"]
        )
        id = try params.string("id")
        status = try Self.status(params.string("status"))
        interval = try params.optionalDouble("interval", in: 0.05...86_400) ?? 60
        site = try params.optionalString("site") ?? ""
        var lanes: [Lane] = []
        for value in try params.optionalArray("lanes") ?? [] {
            let lane = try RPCParams(method: "checkin reply lane", params: value, allowed: ["index", "id", "status"])
            lanes.append(
                Lane(
                    index: try lane.integer("index", in: 0...4095),
                    id: try lane.string("id"),
                    status: try Self.status(lane.string("status"))
                )
            )
        }
        self.lanes = lanes
    }

    private static func status(_ text: String) throws(RPCError) -> ClientStatus {
        guard let status = ClientStatus(rawValue: text) else {
            throw .invalidParams("checkin reply: unknown status '\(text)'")
        }
        return status
    }
}

/// Where each call of the check-in protocol lives, and how a node proves who it is.
public enum CheckinProtocol {
    /// `POST {token, client: CheckinReport}` → `CheckinReply` plus `secret`.
    public static let enrollPath = "/api/v1/enroll"
    /// `POST {token}` → `{valid, site, expires}`: checks an enrollment token without using it.
    public static let validateTokenPath = "/api/v1/enroll/validate"
    /// `POST CheckinReport` with `Authorization: Bearer ID.SECRET` → `CheckinReply`.
    public static let checkinPath = "/api/v1/checkin"

    /// The `Authorization` header value for a client's check-ins.
    public static func authorization(clientID: String, secret: String) -> String {
        "Bearer \(clientID).\(secret)"
    }

    /// Splits a check-in's `Authorization` header into client id and secret.
    public static func credentials(fromAuthorization header: String) -> (clientID: String, secret: String)? {
        guard header.hasPrefix("Bearer ") else { return nil }
        let token = header.dropFirst("Bearer ".count)
        guard let dot = token.firstIndex(of: ".") else { return nil }
        let id = String(token[..<dot])
        let secret = String(token[token.index(after: dot)...])
        guard !id.isEmpty, !secret.isEmpty else { return nil }
        return (id, secret)
    }
}
