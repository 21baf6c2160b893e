/// A TOML 1.0 parser that keeps the line of every key, so that configuration errors can name the file, key and line.
///
/// Why our own: the one TOML package on this machine's registry (TOMLKit) wraps toml++ through C++ interop and exposes
/// no source positions for keys, which the daemon's "file:line: key" errors need. The grammar is small and this parser
/// covers all of it: bare, quoted and dotted keys, the four string forms, integers in four bases, floats, booleans,
/// date-times, arrays, inline tables, tables and arrays of tables, with TOML's redefinition rules.
public enum TOMLParser {
    /// Parses a whole document.
    /// - Throws: `TOMLSyntaxError` naming the line and column of the first problem.
    public static func parse(_ text: String) throws(TOMLSyntaxError) -> TOMLTable {
        var builder = DocumentBuilder(scanner: TOMLScanner(Array(text.utf8)))
        return try builder.build()
    }
}

/// Turns the statement stream (headers and key/value pairs) into the table tree and enforces TOML's rules on
/// redefinition: a key is defined once, a table header once, and a table made by dotted keys or inline is closed.
struct DocumentBuilder {
    var scanner: TOMLScanner
    var root = TOMLTable()
    /// The absolute path of the table that key/value pairs currently go into.
    var currentPath: [String] = []
    /// Absolute paths (array elements included as "#n") of tables given a `[header]`.
    var explicitTables: Set<String> = []
    /// Absolute paths of tables created by dotted keys, which a later `[header]` may not reopen.
    var dottedTables: Set<String> = []
    /// Absolute paths of arrays created by `[[header]]`, which later `[[header]]`s may extend.
    var tableArrays: Set<String> = []
    /// Absolute paths of inline tables and value arrays, which nothing may extend.
    var closedValues: Set<String> = []

    init(scanner: TOMLScanner) {
        self.scanner = scanner
    }

    mutating func build() throws(TOMLSyntaxError) -> TOMLTable {
        while true {
            scanner.skipWhitespaceCommentsAndNewlines()
            guard let byte = scanner.peek() else { return root }
            let line = scanner.line
            if byte == UInt8(ascii: "[") {
                try parseHeader(line: line)
            } else {
                try parseKeyValue(line: line)
            }
            try scanner.expectEndOfLine()
        }
    }

    private mutating func parseHeader(line: Int) throws(TOMLSyntaxError) {
        scanner.advance()
        let isArray = scanner.peek() == UInt8(ascii: "[")
        if isArray { scanner.advance() }
        scanner.skipSpaces()
        let key = try scanner.parseKey()
        scanner.skipSpaces()
        try scanner.expect("]")
        if isArray { try scanner.expect("]") }
        if isArray {
            currentPath = try appendArrayTable(key, line: line)
        } else {
            currentPath = try openTable(key, line: line)
        }
    }

    private mutating func parseKeyValue(line: Int) throws(TOMLSyntaxError) {
        let key = try scanner.parseKey()
        scanner.skipSpaces()
        try scanner.expect("=")
        scanner.skipSpaces()
        let value = try scanner.parseValue(line: line)
        try defineKey(key, value: value, line: line)
    }

    /// The absolute path string used by the redefinition sets.
    private func absolute(_ path: [String]) -> String {
        path.joined(separator: "\u{0}")
    }

    /// Walks `path` from the root, creating implicit tables, and runs `body` on the table found at its end.
    /// `path` elements are keys; an array of tables is entered at its last element.
    private mutating func withTable(
        at path: [String],
        line: Int,
        _ body: (inout TOMLTable, String) throws(TOMLSyntaxError) -> Void
    ) throws(TOMLSyntaxError) {
        var table = root
        try descend(&table, path: path[...], absolutePrefix: "", line: line, body)
        root = table
    }

    private func descend(
        _ table: inout TOMLTable,
        path: ArraySlice<String>,
        absolutePrefix: String,
        line: Int,
        _ body: (inout TOMLTable, String) throws(TOMLSyntaxError) -> Void
    ) throws(TOMLSyntaxError) {
        guard let key = path.first else {
            try body(&table, absolutePrefix)
            return
        }
        let here = absolutePrefix.isEmpty ? key : absolutePrefix + "\u{0}" + key
        let rest = path.dropFirst()
        switch table[key] {
        case .none:
            var child = TOMLTable()
            try descend(&child, path: rest, absolutePrefix: here, line: line, body)
            table.set(key, TOMLNode(.table(child), line: line))
        case .some(var node):
            switch node.value {
            case .table(var child):
                if closedValues.contains(here) {
                    throw syntaxError("inline table '\(key)' cannot be extended", line: line)
                }
                try descend(&child, path: rest, absolutePrefix: here, line: line, body)
                node.value = .table(child)
                table.set(key, node)
            case .array(var elements) where tableArrays.contains(here):
                let index = elements.count - 1
                guard case .table(var child) = elements[index].value else {
                    throw syntaxError("'\(key)' is not a table", line: line)
                }
                let elementPath = here + "\u{0}#\(index)"
                try descend(
                    &child,
                    path: rest,
                    absolutePrefix: elementPath,
                    line: line,
                    body
                )
                elements[index].value = .table(child)
                node.value = .array(elements)
                table.set(key, node)
            default:
                throw syntaxError(
                    "key '\(key)' was defined on line \(node.line) as \(node.value.typeDescription), not a table",
                    line: line
                )
            }
        }
    }

    /// Defines `key` (possibly dotted) relative to the current table.
    mutating func defineKey(_ key: [String], value: TOMLNode, line: Int) throws(TOMLSyntaxError) {
        let tablePath = currentPath
        let parents = Array(key.dropLast())
        let last = key[key.count - 1]
        var newDotted: [String] = []
        var newClosed: [String] = []
        let closedValue = value.value.isInlineOrArray
        let dottedPrefix = tablePath + parents
        try withTable(at: dottedPrefix, line: line) {
            table,
            absolutePath throws(TOMLSyntaxError) in
            if let existing = table[last] {
                throw syntaxError(
                    "duplicate key '\(key.joined(separator: "."))' (first defined on line \(existing.line))",
                    line: line
                )
            }
            table.set(last, value)
            let valuePath = absolutePath.isEmpty ? last : absolutePath + "\u{0}" + last
            if closedValue { newClosed.append(valuePath) }
            if !parents.isEmpty { newDotted.append(absolutePath) }
        }
        // Every table a dotted key passed through is closed to later [headers].
        for depth in 0..<parents.count {
            newDotted.append(absolute(tablePath + parents[...depth]))
        }
        dottedTables.formUnion(newDotted)
        closedValues.formUnion(newClosed)
    }

    private mutating func openTable(_ key: [String], line: Int) throws(TOMLSyntaxError) -> [String] {
        let parents = Array(key.dropLast())
        let last = key[key.count - 1]
        var openedPath = ""
        let (closed, arrays, explicit, dotted) = (closedValues, tableArrays, explicitTables, dottedTables)
        try withTable(at: parents, line: line) { table, absolutePath throws(TOMLSyntaxError) in
            let path = absolutePath.isEmpty ? last : absolutePath + "\u{0}" + last
            if let existing = table[last] {
                guard case .table = existing.value, !closed.contains(path), !arrays.contains(path) else {
                    throw syntaxError(
                        "key '\(key.joined(separator: "."))' was already defined on line \(existing.line)",
                        line: line
                    )
                }
                if explicit.contains(path) || dotted.contains(path) {
                    throw syntaxError(
                        "table [\(key.joined(separator: "."))] is defined twice (first on line \(existing.line))",
                        line: line
                    )
                }
                var node = existing
                node.line = line
                table.set(last, node)
            } else {
                table.set(last, TOMLNode(.table(TOMLTable()), line: line))
            }
            openedPath = path
        }
        explicitTables.insert(openedPath)
        return key
    }

    private mutating func appendArrayTable(_ key: [String], line: Int) throws(TOMLSyntaxError) -> [String] {
        let parents = Array(key.dropLast())
        let last = key[key.count - 1]
        var arrayPath = ""
        let arrays = tableArrays
        try withTable(at: parents, line: line) { table, absolutePath throws(TOMLSyntaxError) in
            let path = absolutePath.isEmpty ? last : absolutePath + "\u{0}" + last
            let element = TOMLNode(.table(TOMLTable()), line: line)
            if let existing = table[last] {
                guard arrays.contains(path), case .array(var elements) = existing.value else {
                    throw syntaxError(
                        "key '\(key.joined(separator: "."))' was already defined on line \(existing.line) and is not an array of tables",
                        line: line
                    )
                }
                elements.append(element)
                table.set(last, TOMLNode(.array(elements), line: existing.line))
            } else {
                table.set(last, TOMLNode(.array([element]), line: line))
            }
            arrayPath = path
        }
        tableArrays.insert(arrayPath)
        return key
    }
}

/// An error found after the statement was read, reported at its line.
private func syntaxError(_ message: String, line: Int) -> TOMLSyntaxError {
    TOMLSyntaxError(line: line, column: 1, message: message)
}

extension TOMLValue {
    /// Inline tables and value arrays are complete when written: nothing may add to them later.
    var isInlineOrArray: Bool {
        switch self {
        case .table, .array: true
        default: false
        }
    }
}
