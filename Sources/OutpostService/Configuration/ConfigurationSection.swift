import OutpostTOML

/// Reads one TOML table of a configuration file with the checks an admin needs: each key's type and range, and no
/// key the section does not know (a typo must not silently fall back to a default).
public struct ConfigurationSection {
    public let file: String
    /// The section's dotted name (`control`), or "" for the top level.
    public let name: String
    public let table: TOMLTable
    public let line: Int?

    public init(file: String, name: String, table: TOMLTable, line: Int? = nil) {
        self.file = file
        self.name = name
        self.table = table
        self.line = line
    }

    private func qualified(_ key: String) -> String {
        name.isEmpty ? key : "\(name).\(key)"
    }

    public func error(_ key: String, _ message: String) -> ConfigurationError {
        ConfigurationError(file: file, line: table[key]?.line ?? line, key: qualified(key), message: message)
    }

    /// Fails on the first key not in `known`, naming the keys that are.
    public func rejectUnknownKeys(known: [String]) throws(ConfigurationError) {
        for (key, node) in table.entries where !known.contains(key) {
            let place = name.isEmpty ? "at the top level" : "in [\(name)]"
            throw ConfigurationError(
                file: file,
                line: node.line,
                key: qualified(key),
                message: "unknown key \(place) (known keys: \(known.joined(separator: ", ")))"
            )
        }
    }

    public func subsection(_ key: String) throws(ConfigurationError) -> ConfigurationSection? {
        guard let node = table[key] else { return nil }
        guard case .table(let child) = node.value else {
            throw error(key, "must be a table ([\(qualified(key))]), found \(node.value.typeDescription)")
        }
        return ConfigurationSection(file: file, name: qualified(key), table: child, line: node.line)
    }

    public func string(_ key: String) throws(ConfigurationError) -> String? {
        guard let node = table[key] else { return nil }
        guard case .string(let text) = node.value else {
            throw error(key, "must be a string, found \(node.value.typeDescription)")
        }
        return text
    }

    public func nonEmptyString(_ key: String) throws(ConfigurationError) -> String? {
        guard let text = try string(key) else { return nil }
        guard !text.isEmpty, !text.utf8.contains(0) else {
            throw error(key, "must be a non-empty string without NUL bytes")
        }
        return text
    }

    /// An absolute file-system path.
    public func path(_ key: String) throws(ConfigurationError) -> String? {
        guard let text = try nonEmptyString(key) else { return nil }
        guard text.hasPrefix("/") else { throw error(key, "must be an absolute path, found \"\(text)\"") }
        return text
    }

    public func integer(_ key: String, in range: ClosedRange<Int64>) throws(ConfigurationError) -> Int? {
        guard let node = table[key] else { return nil }
        guard case .integer(let number) = node.value else {
            throw error(key, "must be an integer, found \(node.value.typeDescription)")
        }
        guard range.contains(number) else {
            throw error(key, "must be between \(range.lowerBound) and \(range.upperBound), found \(number)")
        }
        return Int(number)
    }

    /// An integer or a float, within `range`.
    public func number(_ key: String, in range: ClosedRange<Double>) throws(ConfigurationError) -> Double? {
        guard let node = table[key] else { return nil }
        let number: Double
        switch node.value {
        case .integer(let value): number = Double(value)
        case .float(let value): number = value
        default: throw error(key, "must be a number, found \(node.value.typeDescription)")
        }
        guard range.contains(number) else {
            throw error(key, "must be between \(range.lowerBound) and \(range.upperBound), found \(number)")
        }
        return number
    }

    public func boolean(_ key: String) throws(ConfigurationError) -> Bool? {
        guard let node = table[key] else { return nil }
        guard case .boolean(let value) = node.value else {
            throw error(key, "must be true or false, found \(node.value.typeDescription)")
        }
        return value
    }

    public func stringArray(_ key: String) throws(ConfigurationError) -> [String]? {
        guard let node = table[key] else { return nil }
        guard case .array(let elements) = node.value else {
            throw error(key, "must be an array of strings, found \(node.value.typeDescription)")
        }
        var strings: [String] = []
        for element in elements {
            guard case .string(let text) = element.value else {
                throw error(
                    key,
                    "must be an array of strings, found an element that is \(element.value.typeDescription)"
                )
            }
            strings.append(text)
        }
        return strings
    }

    /// File permission bits, written as an octal string ("0660") so they read as they do in `chmod`.
    public func fileMode(_ key: String) throws(ConfigurationError) -> UInt32? {
        guard let node = table[key] else { return nil }
        guard case .string(let text) = node.value, let mode = UInt32(text, radix: 8), mode <= 0o7777 else {
            throw error(key, "must be an octal mode in quotes, like \"0660\"")
        }
        return mode
    }
}
