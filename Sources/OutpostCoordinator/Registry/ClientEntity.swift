import GRDB
import OutpostCheckin
import OutpostRPC

/// A registry row as the coordinator's `Client` entity (docs/coordinator.md): exactly its attributes, with `*_hr` resolved and the status
/// derived from the check-in clock.
enum ClientEntity {
    static func json(_ row: Row, now: Double, offlineGrace: Double) -> JSONValue {
        let type: Int64 = row["type"]
        let disabled: Bool = row["disabled"]
        let lastCheckin: Double? = row["last_checkin"]
        let status = ClientStatus(disabled: disabled, lastCheckin: lastCheckin, now: now, offlineGrace: offlineGrace)
        let userName: String = row["user_name"]
        let userRole: String = row["user_role"]
        func text(_ column: String) -> JSONValue {
            (row[column] as String?).map(JSONValue.string) ?? .null
        }
        func stored(_ column: String) -> JSONValue {
            guard let text: String = row[column], let value = try? JSONCoding.parse(Array(text.utf8)) else {
                return .null
            }
            return value
        }
        return [
            "id": text("id"),
            "code": text("code"),
            "user": text("user_id"),
            "user_hr": .string("user:\(userName)(\(userRole))"),
            "created": .string(ClientTimestamp.format(row["created"])),
            "type": .integer(type),
            "type_hr": .string(ClientType(rawValue: type)?.humanReadable ?? "unknown"),
            "site": text("site_id"),
            "site_hr": text("site_name"),
            "description": text("description"),
            "host_id": text("host_id"),
            "last_checkin": lastCheckin.map { .string(ClientTimestamp.format($0)) } ?? .null,
            "status": .string(status.rawValue),
            "os": text("os"),
            "username": text("username"),
            "version": text("version"),
            "wan_ip": text("wan_ip"),
            "parent": text("parent"),
            "benchmark": (row["benchmark"] as Double?).map(JSONValue.double) ?? .null,
            "metrics": stored("metrics"),
            "metadata": stored("metadata"),
            "modified": .string(ClientTimestamp.format(row["modified"])),
            "modifier": text("modifier"),
        ]
    }
}
