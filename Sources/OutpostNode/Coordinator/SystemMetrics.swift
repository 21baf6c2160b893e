import OutpostCheckin
import OutpostCore

#if canImport(Glibc)
import Glibc
#endif

/// The machine's figures for a check-in, read from `/proc`.
///
/// CPU load is the busy share of all CPU time since the previous sample (the first sample covers the time since
/// boot), so a check-in every minute reports that minute's load. Free physical memory is `MemAvailable`, what
/// programs can still get without swapping, and `m` is the used share by the same measure.
struct SystemMetrics {
    private var previousCPU: (busy: UInt64, total: UInt64)?

    mutating func sample(inbound: TrafficFigures = .unknown, outbound: TrafficFigures = .unknown) -> ClientMetrics {
        let memory = Self.memoryInfo()
        let total = memory["MemTotal"] ?? -1
        let available = memory["MemAvailable"] ?? memory["MemFree"] ?? -1
        let usedPercent = total > 0 && available >= 0 ? Double(total - available) * 100 / Double(total) : -1
        return ClientMetrics(
            cores: Int64(max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))),
            cpuLoadPercent: cpuLoadPercent(),
            memoryUsedPercent: (usedPercent * 100).rounded() / 100,
            physicalFree: available,
            physicalTotal: total,
            swapFree: memory["SwapFree"] ?? -1,
            swapTotal: memory["SwapTotal"] ?? -1,
            inbound: inbound,
            outbound: outbound
        )
    }

    /// `/proc/meminfo` in bytes, by field name.
    static func memoryInfo() -> [String: Int64] {
        var values: [String: Int64] = [:]
        for line in SmallFile.lines("/proc/meminfo") {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            guard parts.count >= 2, parts[0].hasSuffix(":"), let number = Int64(parts[1]) else { continue }
            let multiplier: Int64 = parts.count >= 3 && parts[2] == "kB" ? 1024 : 1
            values[String(parts[0].dropLast())] = number * multiplier
        }
        return values
    }

    /// The `cpu` line of `/proc/stat`: busy and total jiffies (iowait and idle are not busy).
    static func cpuTimes() -> (busy: UInt64, total: UInt64)? {
        guard let first = SmallFile.lines("/proc/stat").first, first.hasPrefix("cpu ") else { return nil }
        let numbers = first.split(separator: " ").dropFirst().compactMap { UInt64($0) }
        guard numbers.count >= 4 else { return nil }
        // user nice system idle iowait irq softirq steal; guest time is already inside user and nice.
        let fields = Array(numbers.prefix(8))
        let total = fields.reduce(0, +)
        let idle = fields[3] + (fields.count > 4 ? fields[4] : 0)
        return (total - idle, total)
    }

    private mutating func cpuLoadPercent() -> Double {
        guard let now = Self.cpuTimes() else { return -1 }
        defer { previousCPU = now }
        let (busy, total) = previousCPU.map { (now.busy &- $0.busy, now.total &- $0.total) } ?? now
        guard total > 0, busy <= total else { return 0 }
        return (Double(busy) * 10_000 / Double(total)).rounded() / 100
    }
}
