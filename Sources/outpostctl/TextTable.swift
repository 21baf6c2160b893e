/// Plain-text layouts for terminal output.
enum TextTable {
    /// `Key:   value` lines with the values aligned.
    static func keyValue(_ rows: [(String, String)]) -> String {
        let width = rows.map(\.0.count).max() ?? 0
        return rows.map { key, value in
            key + ":" + String(repeating: " ", count: width - key.count + 2) + value
        }.joined(separator: "\n")
    }
}
