import OutpostRPC

/// One compute lane as its node reports it; the coordinator keeps a type-5 client for each.
public struct LaneReport: Sendable, Equatable {
    /// The lane's number on its node, from 0.
    public var index: Int64
    /// Higher means faster; the coordinator weighs dispatch by it. Nil until the node has measured it.
    public var benchmark: Double?

    public init(index: Int64, benchmark: Double?) {
        self.index = index
        self.benchmark = benchmark
    }

    var json: JSONValue { ["index": .integer(index), "benchmark": benchmark.map(JSONValue.double) ?? .null] }

    init(json: JSONValue) throws(RPCError) {
        let params = try RPCParams(method: "lane", params: json, allowed: ["index", "benchmark"])
        index = try params.integer("index", in: 0...4095)
        benchmark = try params.optionalDouble("benchmark", in: 0...1e12)
    }
}

/// What a node tells its coordinator at every check-in (and at enrollment).
///
/// `description`, `site` and `metadata` are the node's configured values: the coordinator applies them when they
/// differ from what the node last sent, so an admin's later edit is not overwritten by every check-in.
public struct CheckinReport: Sendable, Equatable {
    public var code: String
    public var type: ClientType
    public var os: String
    public var username: String
    public var version: String
    public var hostID: String
    public var description: String?
    public var site: String?
    public var metadata: JSONValue?
    public var metrics: ClientMetrics
    public var lanes: [LaneReport]

    public init(
        code: String,
        type: ClientType,
        os: String,
        username: String,
        version: String,
        hostID: String,
        description: String? = nil,
        site: String? = nil,
        metadata: JSONValue? = nil,
        metrics: ClientMetrics,
        lanes: [LaneReport]
    ) {
        self.code = code
        self.type = type
        self.os = os
        self.username = username
        self.version = version
        self.hostID = hostID
        self.description = description
        self.site = site
        self.metadata = metadata
        self.metrics = metrics
        self.lanes = lanes
    }

    static let fields: Set<String> = [
        "code", "type", "os", "username", "version", "host_id", "description", "site", "metadata", "metrics", "lanes",
    ]

    public var json: JSONValue {
        var object: [String: JSONValue] = [
            "code": .string(code), "type": .integer(type.rawValue), "os": .string(os), "username": .string(username),
            "version": .string(version), "host_id": .string(hostID), "metrics": metrics.json,
            "lanes": .array(lanes.map(\.json)),
        ]
        if let description { object["description"] = .string(description) }
        if let site { object["site"] = .string(site) }
        if let metadata { object["metadata"] = metadata }
        return .object(object)
    }

    /// Reads a report, refusing unknown fields, wrong types, out-of-range numbers and over-long strings.
    public init(json: JSONValue) throws(RPCError) {
        let params = try RPCParams(method: "checkin", params: json, allowed: Self.fields)
        code = try Self.text(params, "code", limit: 255)
        let typeNumber = try params.integer("type")
        guard let type = ClientType(rawValue: typeNumber), type == .server || type == .userServer else {
            throw .invalidParams("checkin: 'type' must be 1 (server) or 2 (user server), got \(typeNumber)")
        }
        self.type = type
        os = try Self.text(params, "os", limit: 32)
        username = try Self.text(params, "username", limit: 64)
        version = try Self.text(params, "version", limit: 64)
        hostID = try Self.text(params, "host_id", limit: 2048, allowEmpty: true)
        description = try params.optionalString("description").map { text throws(RPCError) in
            try Self.checkLength(text, "description", limit: 1024)
        }
        site = try params.optionalString("site").map { text throws(RPCError) in
            try Self.checkLength(text, "site", limit: 64)
        }
        if let metadata = params.raw("metadata"), metadata != .null {
            guard case .object = metadata else {
                throw .invalidParams("checkin: 'metadata' must be an object, found \(metadata.typeName)")
            }
            self.metadata = metadata
        }
        guard let metricsJSON = params.raw("metrics") else { throw .invalidParams("checkin needs 'metrics'") }
        metrics = try ClientMetrics(json: metricsJSON)
        let laneValues = try params.optionalArray("lanes") ?? []
        guard laneValues.count <= 4096 else { throw .invalidParams("checkin: more than 4096 lanes") }
        var lanes: [LaneReport] = []
        for value in laneValues { lanes.append(try LaneReport(json: value)) }
        guard Set(lanes.map(\.index)).count == lanes.count else {
            throw .invalidParams("checkin: two lanes have the same index")
        }
        self.lanes = lanes
    }

    private static func text(
        _ params: RPCParams,
        _ name: String,
        limit: Int,
        allowEmpty: Bool = false
    ) throws(RPCError) -> String {
        let value = try params.string(name)
        if !allowEmpty && value.isEmpty { throw .invalidParams("checkin: '\(name)' is empty") }
        return try checkLength(value, name, limit: limit)
    }

    private static func checkLength(_ value: String, _ name: String, limit: Int) throws(RPCError) -> String {
        guard value.utf8.count <= limit else {
            throw .invalidParams("checkin: '\(name)' is longer than \(limit) bytes")
        }
        guard !value.utf8.contains(0) else { throw .invalidParams("checkin: '\(name)' contains a NUL byte") }
        return value
    }
}
