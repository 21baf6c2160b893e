/// An attribute a query may test: one of the `Client` entity's own, or a key inside `metrics` or `metadata`.
public enum QueryAttribute: Sendable, Equatable {
    case column(String)
    /// `metrics.c`, `metrics.in.s`: a path inside the metrics object.
    case metrics([String])
    /// `metadata.external.location`: a path inside the metadata object.
    case metadata([String])

    /// The entity's attributes that a query can compare, in the entity's order (docs/coordinator.md).
    static let names = [
        "id", "code", "user", "user_hr", "created", "type", "type_hr", "site", "site_hr", "description", "host_id",
        "last_checkin", "status", "os", "username", "version", "wan_ip", "parent", "benchmark", "modified", "modifier",
    ]

    init?(name: String) {
        if Self.names.contains(name) {
            self = .column(name)
            return
        }
        let parts = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 2, parts.count <= 8,
            parts.dropFirst().allSatisfy({ part in
                !part.isEmpty
                    && part.utf8.allSatisfy {
                        $0 == UInt8(ascii: "_") || (0x30...0x39).contains($0) || (0x41...0x5a).contains($0)
                            || (0x61...0x7a).contains($0)
                    }
            })
        else { return nil }
        switch parts[0] {
        case "metrics": self = .metrics(Array(parts.dropFirst()))
        case "metadata": self = .metadata(Array(parts.dropFirst()))
        default: return nil
        }
    }
}
