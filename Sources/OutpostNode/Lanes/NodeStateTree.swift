import OutpostCore
import OutpostLanes
import OutpostRPC

#if canImport(Glibc)
import Glibc
#endif

/// The parts of the node's state tree that are not lanes or tasks: `info` (what this machine is) and `config` (the
/// settings `setConfig` can change).
enum NodeStateTree {
    static func initial(node: NodeContext, lanes: LaneConfiguration) -> JSONValue {
        [
            "info": info(node: node),
            "config": ["lanes": LaneConfigurationJSON.json(lanes)],
            "lanes": [:],
            "tasks": [:],
            "coordinator": ["state": "unconfigured"],
            "scheduler": ["projects": [:]],
        ]
    }

    static func info(node: NodeContext) -> JSONValue {
        var name = utsname()
        uname(&name)
        let release = withUnsafeBytes(of: name.release) {
            String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        let machine = withUnsafeBytes(of: name.machine) {
            String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        return [
            "host": .string(HostName.current),
            "name": .string(node.settings.current.effectiveNodeName),
            "os": .string(operatingSystem),
            "kernel": .string(release),
            "arch": .string(machine),
            "cpus": .integer(Int64(LaneConfiguration.onlineCPUs)),
            "memory": .integer(totalMemoryBytes),
            "version": .string(OutpostVersion.version),
            "nodeId": .string(node.identity.nodeID),
            "instanceId": .string(node.instanceID),
        ]
    }

    /// PRETTY_NAME from /etc/os-release ("Debian GNU/Linux 12 (bookworm)"), or "Linux".
    private static var operatingSystem: String {
        for line in SmallFile.lines("/etc/os-release") where line.hasPrefix("PRETTY_NAME=") {
            return String(line.dropFirst("PRETTY_NAME=".count)).filter { $0 != "\"" }
        }
        return "Linux"
    }

    private static var totalMemoryBytes: Int64 { SystemMetrics.memoryInfo()["MemTotal"] ?? 0 }
}
