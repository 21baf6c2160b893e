import OutpostRPC

/// Clients as a readable table: one line each, the columns an admin scans first.
enum ClientTable {
    static let columns = ["ID", "CODE", "TYPE", "STATUS", "SITE", "LAST CHECK-IN", "PARENT", "CORES", "LOAD%", "MEM%"]

    static func render(_ clients: [JSONValue]) -> String {
        guard !clients.isEmpty else { return "no clients match" }
        let rows = clients.map { client -> [String] in
            let metrics = client["metrics"]
            return [
                text(client["id"]), text(client["code"]), text(client["type_hr"]), text(client["status"]),
                text(client["site_hr"]), text(client["last_checkin"]), text(client["parent"]),
                number(metrics?["c"], decimals: 0), number(metrics?["l"], decimals: 1),
                number(metrics?["m"], decimals: 1),
            ]
        }
        var widths = columns.map(\.count)
        for row in rows {
            for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            var text = ""
            for (index, cell) in cells.enumerated() {
                text += cell
                if index < cells.count - 1 { text += String(repeating: " ", count: widths[index] - cell.count + 2) }
            }
            return text
        }
        return ([line(columns)] + rows.map(line)).joined(separator: "\n")
    }

    private static func text(_ value: JSONValue?) -> String {
        switch value {
        case .string(let text): text.isEmpty ? "-" : text
        case .integer(let number): String(number)
        default: "-"
        }
    }

    private static func number(_ value: JSONValue?, decimals: Int) -> String {
        let number: Double
        switch value {
        case .integer(let integer): number = Double(integer)
        case .double(let double): number = double
        default: return "-"
        }
        if number < 0 { return "-" }
        if decimals == 0 { return String(Int64(number)) }
        let scaled = (number * 10).rounded() / 10
        return String(scaled)
    }
}
