import Testing

@testable import OutpostTOML

@Suite("TOML parsing")
struct TOMLParserTests {
    @Test("every value type, with the line of each key")
    func valueTypes() throws {
        let table = try TOMLParser.parse(
            """
            # a comment
            title = "Outpost \\u00e9\\t"   # trailing comment
            literal = 'C:\\path'
            count = 1_000
            negative = -17
            hex = 0xff
            octal = 0o755
            binary = 0b101
            ratio = 6.5e-1
            whole = 3.0
            infinite = -inf
            enabled = true
            disabled = false
            when = 1979-05-27T07:32:00Z
            day = 1979-05-27
            list = [1, 2,
              3, # comment inside
            ]
            nested = { a = 1, b.c = "x" }
            multi = \"\"\"
            one \\
              two\"\"\"
            raw = '''
            keep\\n'''
            """
        )
        #expect(table["title"] == TOMLNode(.string("Outpost é\t"), line: 2))
        #expect(table["literal"]?.value == .string("C:\\path"))
        #expect(table["count"] == TOMLNode(.integer(1000), line: 4))
        #expect(table["negative"]?.value == .integer(-17))
        #expect(table["hex"]?.value == .integer(255))
        #expect(table["octal"]?.value == .integer(0o755))
        #expect(table["binary"]?.value == .integer(5))
        #expect(table["ratio"]?.value == .float(0.65))
        #expect(table["whole"]?.value == .float(3))
        #expect(table["infinite"]?.value == .float(-.infinity))
        #expect(table["enabled"]?.value == .boolean(true))
        #expect(table["disabled"]?.value == .boolean(false))
        #expect(table["when"]?.value == .dateTime("1979-05-27T07:32:00Z"))
        #expect(table["day"]?.value == .dateTime("1979-05-27"))
        guard case .array(let list) = table["list"]?.value else {
            Issue.record("list is not an array")
            return
        }
        #expect(list.map(\.value) == [.integer(1), .integer(2), .integer(3)])
        guard case .table(let nested) = table["nested"]?.value, case .table(let b) = nested["b"]?.value else {
            Issue.record("nested is not a table")
            return
        }
        #expect(nested["a"]?.value == .integer(1))
        #expect(b["c"]?.value == .string("x"))
        #expect(table["multi"]?.value == .string("one two"))
        #expect(table["raw"]?.value == .string("keep\\n"))
        #expect(table.keys.first == "title")
    }

    @Test("tables, dotted keys and arrays of tables")
    func tables() throws {
        let table = try TOMLParser.parse(
            """
            [node]
            state_directory = "/var/lib/outpost"

            [control]
            socket = "/run/outpost/control.sock"
            limits.max = 3

            [[lane]]
            cpus = 1
            [[lane]]
            cpus = 2
            """
        )
        guard case .table(let control) = table["control"]?.value else {
            Issue.record("no control table")
            return
        }
        #expect(table["control"]?.line == 4)
        #expect(control["socket"]?.line == 5)
        guard case .array(let lanes) = table["lane"]?.value else {
            Issue.record("no lane array")
            return
        }
        #expect(lanes.count == 2)
        guard case .table(let second) = lanes[1].value else {
            Issue.record("lane is not a table")
            return
        }
        #expect(second["cpus"] == TOMLNode(.integer(2), line: 11))
    }

    @Test(
        "syntax errors name the line",
        arguments: [
            ("a = 1\nb = ", 2),
            ("a = 1\na = 2", 2),
            ("[t]\nx = 1\n[t]", 3),
            ("a = \"unterminated", 1),
            ("a = 1 b = 2", 1),
            ("x = 007", 1),
            ("x = 1__0", 1),
            ("a.b = 1\n[a.b]", 2),
            ("a = {x = 1}\n[a]", 2),
            ("a = [1\n", 2),
            ("a = \"bad \\q escape\"", 1),
            ("= 3", 1),
            ("a = tru", 1),
            ("a = \"line\nbreak\"", 1),
        ]
    )
    func syntaxErrors(document: String, line: Int) {
        #expect {
            _ = try TOMLParser.parse(document)
        } throws: { error in
            (error as? TOMLSyntaxError)?.line == line
        }
    }

    @Test("invalid UTF-8 is refused")
    func invalidUTF8() {
        let bytes: [UInt8] = Array("a = '".utf8) + [0xFF, 0xFE] + Array("'".utf8)
        var scanner = TOMLScanner(bytes)
        scanner.advance(4)
        #expect(throws: TOMLSyntaxError.self) { _ = try scanner.parseValue(line: 1) }
    }
}
