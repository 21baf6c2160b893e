import Testing

@testable import OutpostRPC

@Suite("JSON-RPC dispatch, without sockets")
struct RPCDispatcherTests {
    let dispatcher = RPCDispatcher<String>(methods: [
        RPCMethod("echo", parameters: ["text"]) { params, _ in
            try params.optionalString("text").map(JSONValue.string) ?? .null
        },
        RPCMethod("whoami") { _, caller in .string(caller) },
        RPCMethod("count", parameters: ["n"]) { params, _ in .integer(try params.integer("n", in: 0...10)) },
        RPCMethod("fails") { _, _ in throw RPCError.permissionDenied("no") },
    ])

    func call(_ line: String) async -> JSONValue? {
        guard let bytes = await dispatcher.handle(line: Array(line.utf8), context: "alice") else { return nil }
        return try? JSONCoding.parse(bytes)
    }

    @Test func echoReturnsTheText() async {
        let response = await call(#"{"jsonrpc":"2.0","id":1,"method":"echo","params":{"text":"hi"}}"#)
        #expect(response == ["jsonrpc": "2.0", "id": 1, "result": "hi"])
    }

    @Test func echoWithoutTextReturnsNull() async {
        let response = await call(#"{"jsonrpc":"2.0","id":"a","method":"echo"}"#)
        #expect(response?["result"] == .null)
        #expect(response?["id"] == "a")
    }

    @Test func theContextReachesTheMethod() async {
        #expect(await call(#"{"jsonrpc":"2.0","id":2,"method":"whoami"}"#)?["result"] == "alice")
    }

    @Test(arguments: ["{", "nonsense", "{\"a\":1}}", "[1,]", "\"\\ud800\"", String(repeating: "[", count: 5000)])
    func malformedJSONIsAParseError(line: String) async {
        let response = await call(line)
        #expect(response?["error"]?["code"] == .integer(-32700))
        #expect(response?["id"] == .null)
    }

    @Test(arguments: [
        #"{"id":1,"method":"echo"}"#, #"{"jsonrpc":"2.0","id":1}"#, #"{"jsonrpc":"2.0","id":{},"method":"echo"}"#,
        #"{"jsonrpc":"2.0","id":1,"method":"echo","params":3}"#, "42",
    ])
    func invalidEnvelopesAreInvalidRequests(line: String) async {
        #expect(await call(line)?["error"]?["code"] == .integer(-32600))
    }

    @Test func unknownMethodIsMethodNotFound() async {
        let response = await call(#"{"jsonrpc":"2.0","id":3,"method":"nope"}"#)
        #expect(response?["error"]?["code"] == .integer(-32601))
        #expect(response?["error"]?["message"]?.stringValue?.contains("nope") == true)
    }

    @Test(arguments: [
        #"{"jsonrpc":"2.0","id":4,"method":"echo","params":{"text":5}}"#,
        #"{"jsonrpc":"2.0","id":4,"method":"echo","params":{"txt":"x"}}"#,
        #"{"jsonrpc":"2.0","id":4,"method":"echo","params":["x"]}"#,
        #"{"jsonrpc":"2.0","id":4,"method":"count"}"#,
        #"{"jsonrpc":"2.0","id":4,"method":"count","params":{"n":11}}"#,
        #"{"jsonrpc":"2.0","id":4,"method":"count","params":{"n":1.5}}"#,
    ])
    func badParamsAreInvalidParams(line: String) async {
        #expect(await call(line)?["error"]?["code"] == .integer(-32602))
    }

    @Test func methodErrorsKeepTheirCode() async {
        #expect(await call(#"{"jsonrpc":"2.0","id":5,"method":"fails"}"#)?["error"]?["code"] == .integer(-32001))
    }

    @Test func notificationsGetNoResponse() async {
        #expect(await call(#"{"jsonrpc":"2.0","method":"echo","params":{"text":"x"}}"#) == nil)
    }

    @Test func batchesAnswerEachRequest() async {
        let response = await call(
            #"[{"jsonrpc":"2.0","id":1,"method":"echo","params":{"text":"a"}},{"jsonrpc":"2.0","method":"echo"},{"jsonrpc":"2.0","id":2,"method":"nope"}]"#
        )
        guard case .array(let answers) = response else {
            Issue.record("not a batch answer")
            return
        }
        #expect(answers.count == 2)
        #expect(answers[0]["result"] == "a")
        #expect(answers[1]["error"]?["code"] == .integer(-32601))
    }
}

@Suite("JSON text")
struct JSONCodingTests {
    @Test func roundTripsEveryType() throws {
        let value: JSONValue = [
            "s": "a\"b\\c\nd\u{01}é😀", "i": 9_007_199_254_740_993, "d": 1.5, "t": true, "n": nil, "a": [1, "x", []],
            "o": ["k": ["z": false]],
        ]
        #expect(try JSONCoding.parse(JSONCoding.serialize(value)) == value)
    }

    @Test func surrogatePairsDecode() throws {
        #expect(try JSONCoding.parse(Array(#""\ud83d\ude00""#.utf8)) == "😀")
    }

    @Test func duplicateKeysAreRefused() {
        #expect(throws: JSONParseError.self) { try JSONCoding.parse(Array(#"{"a":1,"a":2}"#.utf8)) }
    }

    /// Members wait on one stack shared by every nesting level: a key may repeat across levels, never within one.
    @Test func nestedObjectsKeepTheirOwnMembers() throws {
        let parsed = try JSONCoding.parse(Array(#"{"a":{"a":1,"b":{"a":2}},"b":[{"a":3},{}],"c":4}"#.utf8))
        #expect(parsed == ["a": ["a": 1, "b": ["a": 2]], "b": [["a": 3], [:]], "c": 4])
        #expect(throws: JSONParseError.self) { try JSONCoding.parse(Array(#"{"x":{"a":1,"a":2},"y":1}"#.utf8)) }
        #expect(throws: JSONParseError.self) { try JSONCoding.parse(Array(#"{"a":1,"b":{"c":1},"a":2}"#.utf8)) }
    }

    /// 18 digits are read in place; longer numbers (and a sign that makes 19 characters) take the general path.
    @Test func integersAtTheInPlaceLimitAreExact() throws {
        for number: Int64 in [999_999_999_999_999_999, -999_999_999_999_999_999, 1_000_000_000_000_000_000, -0] {
            #expect(try JSONCoding.parse(Array(String(number).utf8)) == .integer(number))
        }
        #expect(try JSONCoding.parse(Array("-0".utf8)) == .integer(0))
        #expect(try JSONCoding.parse(Array("99999999999999999999".utf8)) == .double(1e20))
    }

    /// Decimals read in place (Clinger's fast path) must give exactly what strtod gives, and every other number
    /// must still reach strtod: checked on edge cases and on 20,000 random decimals of every length and exponent.
    @Test func decimalsReadInPlaceMatchStrtod() throws {
        var texts = [
            "0.5", "-0.0", "0.1", "1.5e3", "1E-5", "2.5e+22", "9007199254740992.5", "9007199254740993e-3",
            "1799999999.999999", "1700000000.123456", "0.000000000000000000000001", "1e22", "1e23",
            "1.7976931348623157e308",
            "4.9e-324", "123456789012345678.9", "1e-400", "-1e-400", "12345678901234567890.5", "1e99999999999",
        ]
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            let digits = String(
                UInt64.random(in: 0...UInt64.max >> UInt64.random(in: 0...63, using: &generator), using: &generator)
            )
            let point = Int.random(in: 0...digits.count, using: &generator)
            var text =
                point == 0 || point == digits.count ? digits : digits.prefix(point) + "." + digits.dropFirst(point)
            if Bool.random(using: &generator) { text += "e" + String(Int.random(in: -40...40, using: &generator)) }
            if text.first == "0", text.count > 1, !text.hasPrefix("0.") { continue }  // JSON allows no leading zero
            texts.append(Bool.random(using: &generator) ? "-" + text : text)
        }
        for text in texts {
            let expected = Double(text)!
            guard expected.isFinite else {
                #expect(throws: JSONParseError.self) { try JSONCoding.parse(Array(text.utf8)) }
                continue
            }
            switch try JSONCoding.parse(Array(text.utf8)) {
            case .double(let parsed):
                #expect(parsed.bitPattern == expected.bitPattern, "\(text): \(parsed) against strtod's \(expected)")
            case .integer(let parsed):
                #expect(
                    !text.contains(".") && !text.lowercased().contains("e") && Double(parsed) == expected,
                    "\(text)"
                )
            default:
                Issue.record("\(text) parsed as neither number")
            }
        }
    }

    @Test func nonASCIIStringsAreKeptAndASCIIOnesCopied() throws {
        #expect(try JSONCoding.parse(Array(#"{"café":"naïve","k":"plain"}"#.utf8)) == ["café": "naïve", "k": "plain"])
        #expect(throws: JSONParseError.self) { try JSONCoding.parse([0x22, 0x61, 0xC3, 0x22]) }  // a cut-off é
    }

    @Test func invalidUTF8IsRefused() {
        #expect(throws: JSONParseError.self) { try JSONCoding.parse([0x22, 0xFF, 0x22]) }
    }

    @Test func keysAreSortedForStableOutput() {
        #expect(JSONCoding.serializeToString(["b": 1, "a": 2]) == #"{"a":2,"b":1}"#)
    }
}
