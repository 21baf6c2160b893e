import OutpostRPC

/// How lanes and tasks appear in the node's state tree (`lanes.<id>`, `tasks.<id>`). Keys are camelCase without `-`.
enum LaneStateTree {
    /// - Parameter specification: the record's specification when the caller has it decoded already (the lanes do,
    ///   for the task they run); otherwise it is decoded from the record.
    static func task(
        _ record: TaskRecord,
        specification: TaskSpecification? = nil,
        paused: Bool = false,
        progress: Double? = nil,
        runtime: Double? = nil
    )
        -> JSONValue
    {
        var object: [String: JSONValue] = [
            "id": .integer(record.id ?? 0),
            "state": .string(paused && record.state == .running ? "paused" : record.state.rawValue),
            "source": .string(record.source),
            "attempts": .integer(Int64(record.attempts)),
            "progress": .double(progress ?? record.progress),
            "runtime": .double(((runtime ?? record.runtimeSeconds) * 10).rounded() / 10),
            "created": .double(record.createdAt),
            "reported": .bool(record.reportedAt != nil),
        ]
        if let specification = specification ?? (try? record.decodedSpecification()) {
            object["executable"] = .string(specification.executable)
            if let name = specification.name { object["name"] = .string(name) }
        }
        if let lane = record.lane { object["lane"] = .integer(Int64(lane)) }
        if let reference = record.reference { object["reference"] = .string(reference) }
        if let exitStatus = record.exitStatus { object["exitStatus"] = .integer(Int64(exitStatus)) }
        if let signal = record.signal { object["signal"] = .integer(Int64(signal)) }
        if let reason = record.reason { object["reason"] = .string(reason) }
        if let started = record.startedAt { object["started"] = .double(started) }
        if let finished = record.finishedAt { object["finished"] = .double(finished) }
        return .object(object)
    }

    static func lane(
        id: Int,
        mode: LaneMode,
        state: String,
        task: Int64?,
        configuration: LaneConfiguration,
        benchmark: Double?
    ) -> JSONValue {
        var object: [String: JSONValue] = [
            "id": .integer(Int64(id)),
            "mode": .string(mode.rawValue),
            "state": .string(state),
            "cpus": .integer(Int64(configuration.cpus)),
        ]
        if let task { object["task"] = .integer(task) }
        if let benchmark { object["benchmark"] = .double((benchmark * Double(configuration.cpus) * 10).rounded() / 10) }
        if let value = configuration.memoryLimitBytes { object["memoryLimit"] = .integer(value) }
        if let value = configuration.maxRuntimeSeconds { object["maxRuntime"] = .integer(value) }
        return .object(object)
    }
}
