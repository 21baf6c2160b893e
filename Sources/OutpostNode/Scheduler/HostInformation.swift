import OutpostCore
import OutpostScheduler

#if canImport(Glibc)
import Glibc
#endif

/// The `<host_info>` a node sends: processors are its lanes (what it can run at once), the floating-point speed is
/// the lanes' benchmark, memory, swap and disk come from `/proc` and `statvfs`.
enum HostInformation {
    static func describe(
        nodeID: String,
        name: String,
        processors: Int,
        flops: Double,
        stateDirectory: String
    ) -> HostDescription {
        var host = HostDescription()
        host.domainName = name
        host.ipAddress = "127.0.0.1"
        host.hostCPID = nodeID.filter(\.isHexDigit).lowercased()
        host.processors = Int64(max(processors, 1))
        host.floatingPointOpsPerSecond = flops
        host.integerOpsPerSecond = flops
        host.benchmarkTime = WallClock.seconds()
        let memory = SystemMetrics.memoryInfo()
        host.memoryBytes = Double(memory["MemTotal"] ?? 0)
        host.swapBytes = Double(memory["SwapTotal"] ?? 0)
        var fs = statvfs()
        if statvfs(stateDirectory, &fs) == 0 {
            host.diskTotalBytes = Double(fs.f_blocks) * Double(fs.f_frsize)
            host.diskFreeBytes = Double(fs.f_bavail) * Double(fs.f_frsize)
        }
        var system = utsname()
        uname(&system)
        host.osName = "Linux"
        host.osVersion = withUnsafeBytes(of: &system.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let cpuinfo = SmallFile.lines("/proc/cpuinfo", limit: 1 << 18)
        func field(_ key: String) -> String {
            cpuinfo.first { $0.hasPrefix(key) }.flatMap { $0.split(separator: ":", maxSplits: 1).last }
                .map { String($0).trimmingCharacters() } ?? ""
        }
        host.processorVendor = field("vendor_id")
        host.processorModel = field("model name")
        host.processorFeatures = field("flags")
        return host
    }
}

extension String {
    fileprivate func trimmingCharacters() -> String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}
