import OutpostRPC

/// One direction of transfer traffic: current, average and total. `-1` means unknown.
public struct TrafficFigures: Sendable, Equatable {
    /// Current rate, bytes per second.
    public var current: Double
    /// Average rate, bytes per second, since the daemon started.
    public var average: Double
    /// Bytes transferred since the daemon started.
    public var total: Double

    public static let unknown = TrafficFigures(current: -1, average: -1, total: -1)

    public init(current: Double, average: Double, total: Double) {
        self.current = current
        self.average = average
        self.total = total
    }

    var json: JSONValue { ["s": .double(current), "s_a": .double(average), "s_t": .double(total)] }

    init(json: JSONValue?, field: String) throws(RPCError) {
        guard let json else {
            self = .unknown
            return
        }
        let params = try RPCParams(method: "metrics.\(field)", params: json, allowed: ["s", "s_a", "s_t"])
        current = try params.optionalDouble("s", in: -1...1e15) ?? -1
        average = try params.optionalDouble("s_a", in: -1...1e15) ?? -1
        total = try params.optionalDouble("s_t", in: -1...1e18) ?? -1
    }
}

/// A machine's real-time figures in the check-in's compact form (docs/coordinator.md): `c` cores, `l` CPU load %, `m` memory used %,
/// `mpf`/`mpt` physical memory free/total bytes, `mvf`/`mvt` swap free/total bytes, `in`/`out` transfer traffic.
public struct ClientMetrics: Sendable, Equatable {
    public var cores: Int64
    public var cpuLoadPercent: Double
    public var memoryUsedPercent: Double
    public var physicalFree: Int64
    public var physicalTotal: Int64
    public var swapFree: Int64
    public var swapTotal: Int64
    public var inbound: TrafficFigures
    public var outbound: TrafficFigures

    public init(
        cores: Int64,
        cpuLoadPercent: Double,
        memoryUsedPercent: Double,
        physicalFree: Int64,
        physicalTotal: Int64,
        swapFree: Int64,
        swapTotal: Int64,
        inbound: TrafficFigures = .unknown,
        outbound: TrafficFigures = .unknown
    ) {
        self.cores = cores
        self.cpuLoadPercent = cpuLoadPercent
        self.memoryUsedPercent = memoryUsedPercent
        self.physicalFree = physicalFree
        self.physicalTotal = physicalTotal
        self.swapFree = swapFree
        self.swapTotal = swapTotal
        self.inbound = inbound
        self.outbound = outbound
    }

    public var json: JSONValue {
        [
            "c": .integer(cores), "l": .double(cpuLoadPercent), "m": .double(memoryUsedPercent),
            "mpf": .integer(physicalFree), "mpt": .integer(physicalTotal), "mvf": .integer(swapFree),
            "mvt": .integer(swapTotal), "in": inbound.json, "out": outbound.json,
        ]
    }

    /// Reads and range-checks metrics from a node: a coordinator stores what it is sent, so nonsense is refused here.
    public init(json: JSONValue) throws(RPCError) {
        let params = try RPCParams(
            method: "metrics",
            params: json,
            allowed: ["c", "l", "m", "mpf", "mpt", "mvf", "mvt", "in", "out"]
        )
        cores = try params.integer("c", in: -1...1_000_000)
        cpuLoadPercent = try params.optionalDouble("l", in: -1...100) ?? -1
        memoryUsedPercent = try params.optionalDouble("m", in: -1...100) ?? -1
        physicalFree = try params.optionalInteger("mpf", in: -1...Int64.max) ?? -1
        physicalTotal = try params.optionalInteger("mpt", in: -1...Int64.max) ?? -1
        swapFree = try params.optionalInteger("mvf", in: -1...Int64.max) ?? -1
        swapTotal = try params.optionalInteger("mvt", in: -1...Int64.max) ?? -1
        inbound = try TrafficFigures(json: params.raw("in"), field: "in")
        outbound = try TrafficFigures(json: params.raw("out"), field: "out")
    }
}
