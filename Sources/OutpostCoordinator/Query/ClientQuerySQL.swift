import GRDB
import OutpostCheckin

/// Turns a parsed query into an SQL condition over the registry's tables, every value bound as a parameter.
///
/// Values are checked against their attribute here: a status that does not exist, a type name that is not one, or a
/// date that does not parse is an error that names it, rather than a query that silently matches nothing.
struct ClientQuerySQL {
    /// The `SELECT` every Client read shares; `WHERE` and `ORDER BY` are added to it.
    static let selection = """
        SELECT c.*, s.name AS site_name, u.name AS user_name, u.role AS user_role
        FROM clients c JOIN sites s ON s.id = c.site_id JOIN users u ON u.id = c.user_id
        LEFT JOIN clients p ON p.id = c.parent
        """

    /// Each node followed by its lanes in lane order, nodes oldest first.
    static let order =
        " ORDER BY COALESCE(p.created, c.created), COALESCE(c.parent, c.id), c.parent IS NOT NULL, c.lane_index"

    /// Check-ins at or after this moment (seconds since 1970) count as online.
    let onlineCutoff: Double
    private(set) var arguments: [(any DatabaseValueConvertible)?] = []

    init(onlineCutoff: Double) {
        self.onlineCutoff = onlineCutoff
    }

    /// The `WHERE` condition for `query`, or `1` for a query without one.
    mutating func condition(_ query: ClientQuery) throws(ClientQueryError) -> String {
        guard let condition = query.condition else { return "1" }
        return try sql(condition)
    }

    private mutating func sql(_ condition: ClientQuery.Condition) throws(ClientQueryError) -> String {
        switch condition {
        case .and(let left, let right): return "(\(try sql(left)) AND \(try sql(right)))"
        case .or(let left, let right): return "(\(try sql(left)) OR \(try sql(right)))"
        case .not(let inner): return "(NOT \(try sql(inner)))"
        case .comparison(let attribute, let comparison, let value):
            let expression = self.expression(attribute)
            if value == .null {
                switch comparison {
                case .equal: return "(\(expression) IS NULL)"
                case .notEqual: return "(\(expression) IS NOT NULL)"
                default:
                    throw ClientQueryError(message: "null can only be compared with = or !=", word: "null")
                }
            }
            let bound = try self.value(value, for: attribute)
            arguments.append(bound)
            return "(\(expression) \(comparison.rawValue) ?)"
        case .membership(let attribute, let values, let negated):
            let expression = self.expression(attribute)
            var placeholders: [String] = []
            for value in values {
                guard value != .null else {
                    throw ClientQueryError(message: "null cannot be in an 'in' list; use = null", word: "null")
                }
                arguments.append(try self.value(value, for: attribute))
                placeholders.append("?")
            }
            return "(\(expression) \(negated ? "NOT IN" : "IN") (\(placeholders.joined(separator: ", "))))"
        }
    }

    private mutating func expression(_ attribute: QueryAttribute) -> String {
        switch attribute {
        case .metrics(let path):
            return "json_extract(c.metrics, '$.\(path.joined(separator: "."))')"
        case .metadata(let path):
            return "json_extract(c.metadata, '$.\(path.joined(separator: "."))')"
        case .column(let name):
            switch name {
            case "user": return "c.user_id"
            case "user_hr": return "('user:' || u.name || '(' || u.role || ')')"
            case "site": return "c.site_id"
            case "site_hr": return "s.name"
            case "type_hr":
                let cases = ClientType.allCases.map { "WHEN \($0.rawValue) THEN '\($0.humanReadable)'" }
                return "(CASE c.type \(cases.joined(separator: " ")) END)"
            case "status":
                arguments.append(onlineCutoff)
                arguments.append(onlineCutoff)
                return """
                    (CASE WHEN c.disabled = 0 AND c.last_checkin >= ? THEN 'online' WHEN c.disabled = 0 THEN 'offline' \
                    WHEN c.last_checkin >= ? THEN 'disabled' ELSE 'disabled-offline' END)
                    """
            default: return "c.\(name)"
            }
        }
    }

    private func value(
        _ value: QueryValue,
        for attribute: QueryAttribute
    ) throws(ClientQueryError) -> (any DatabaseValueConvertible)? {
        guard case .column(let name) = attribute else {
            switch value {
            case .number(let number): return number
            case .text(let text): return text
            case .null: return nil
            }
        }
        switch name {
        case "created", "last_checkin", "modified":
            switch value {
            case .number(let number): return number
            case .text(let text):
                guard let seconds = ClientTimestamp.parse(text) else {
                    throw ClientQueryError(
                        message: "'\(name)' takes a date such as 2026-11-23 or 2026-11-23T07:51:57 (UTC)",
                        word: text
                    )
                }
                return seconds
            case .null: return nil
            }
        case "type":
            switch value {
            case .number(let number): return number
            case .text(let text):
                guard let type = ClientType.allCases.first(where: { $0.humanReadable == text }) else {
                    throw ClientQueryError(
                        message: "'type' is a number (0 app, 1 server, 2 user server, 3 browser, 5 lane)",
                        word: text
                    )
                }
                return type.rawValue
            case .null: return nil
            }
        case "status":
            let text: String
            switch value {
            case .text(let word): text = word
            case .number(let number): text = "\(number)"
            case .null: return nil
            }
            guard ClientStatus(rawValue: text) != nil else {
                throw ClientQueryError(
                    message: "unknown status; a client is online, offline, disabled or disabled-offline",
                    word: text
                )
            }
            return text
        case "benchmark":
            guard case .number(let number) = value else {
                throw ClientQueryError(message: "'benchmark' is a number", word: "\(value)")
            }
            return number
        default:
            switch value {
            case .text(let text): return text
            // A bare 12 against a text attribute means the text "12", as written.
            case .number(let number):
                return number.rounded() == number && abs(number) < 1e15 ? String(Int64(number)) : String(number)
            case .null: return nil
            }
        }
    }
}
