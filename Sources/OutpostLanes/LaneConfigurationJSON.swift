import OutpostRPC

/// The lane configuration as the state tree's `config.lanes` shows it and as `setConfig` changes it: `count`, `cpus`,
/// `memoryLimit` (bytes), `maxRuntime` (seconds), `maxRestarts`, `finishedKept`. A limit of 0 means none (state
/// trees hold no nulls).
public enum LaneConfigurationJSON {
    public static let keys = ["count", "cpus", "memoryLimit", "maxRuntime", "maxRestarts", "finishedKept"]

    public static func json(_ configuration: LaneConfiguration) -> JSONValue {
        [
            "count": .integer(Int64(configuration.count)),
            "cpus": .integer(Int64(configuration.cpus)),
            "memoryLimit": .integer(configuration.memoryLimitBytes ?? 0),
            "maxRuntime": .integer(configuration.maxRuntimeSeconds ?? 0),
            "maxRestarts": .integer(Int64(configuration.maxRestarts)),
            "finishedKept": .integer(Int64(configuration.finishedKept)),
        ]
    }

    /// Applies a sparse change, checking every key and range; nothing is applied unless all of it is valid.
    public static func merge(
        _ patch: JSONValue,
        into configuration: LaneConfiguration
    ) throws(LaneError)
        -> LaneConfiguration
    {
        guard case .object(let members) = patch else { throw LaneError("config.lanes must be an object") }
        var result = configuration
        for (key, value) in members.sorted(by: { $0.key < $1.key }) {
            guard let number = value.integerValue else {
                throw LaneError("config.lanes.\(key) must be an integer, found \(value.typeName)")
            }
            func checked(_ range: ClosedRange<Int64>) throws(LaneError) -> Int64 {
                guard range.contains(number) else {
                    throw LaneError(
                        "config.lanes.\(key) must be between \(range.lowerBound) and \(range.upperBound), found \(number)"
                    )
                }
                return number
            }
            switch key {
            case "count": result.count = Int(try checked(0...1024))
            case "cpus": result.cpus = Int(try checked(1...4096))
            case "memoryLimit":
                let bytes = try checked(0...(1 << 50))
                result.memoryLimitBytes = bytes == 0 ? nil : bytes
            case "maxRuntime":
                let seconds = try checked(0...(10 * 365 * 86400))
                result.maxRuntimeSeconds = seconds == 0 ? nil : seconds
            case "maxRestarts": result.maxRestarts = Int(try checked(0...1000))
            case "finishedKept": result.finishedKept = Int(try checked(0...100_000))
            default:
                throw LaneError("config.lanes has no key '\(key)' (it has \(keys.joined(separator: ", ")))")
            }
        }
        return result
    }
}
