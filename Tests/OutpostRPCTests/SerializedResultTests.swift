import Testing

@testable import OutpostRPC

@Suite("serialized results and immediate answers, without sockets")
struct SerializedResultTests {
    /// `listing` answers at once when `n` is small, otherwise only through its (asynchronous) handler; `denied` is
    /// refused by the admission rule.
    let dispatcher = RPCDispatcher<String>(
        methods: [
            RPCMethod(
                "listing",
                parameters: ["n"],
                serialized: { params, _ in try Self.listing(try params.integer("n")) },
                immediate: { params, _ in
                    let n = try params.integer("n", in: 0...1000)
                    return n <= 3 ? try Self.listing(n) : nil
                }
            ),
            RPCMethod("plain") { _, caller in ["caller": .string(caller), "list": [1, 2]] },
            RPCMethod(
                "denied",
                serialized: { _, _ in SerializedJSON(.null) },
                immediate: { _, _ in SerializedJSON(.null) }
            ),
        ],
        admission: { method, _ in method == "denied" ? .permissionDenied("not you") : nil }
    )

    static func listing(_ n: Int64) throws -> SerializedJSON {
        var bytes: [UInt8] = Array(#"{"items":["#.utf8)
        for index in 0..<n {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            JSONCoding.append(.string("item \"\(index)\"\n"), to: &bytes)
        }
        bytes.append(contentsOf: #"],"total":"#.utf8)
        JSONCoding.append(.integer(n), to: &bytes)
        bytes.append(UInt8(ascii: "}"))
        return SerializedJSON(serialized: bytes)
    }

    static func expectedListing(_ n: Int64) -> JSONValue {
        ["items": .array((0..<n).map { .string("item \"\($0)\"\n") }), "total": .integer(n)]
    }

    /// A spliced response is byte for byte the one a value result would give.
    @Test(arguments: [#"7"#, #""seven""#, "null"])
    func aSerializedResultIsSplicedIntoTheSameBytesAsAValue(id: String) async throws {
        let line = #"{"jsonrpc":"2.0","id":\#(id),"method":"listing","params":{"n":5}}"#
        let bytes = try #require(await dispatcher.handle(line: Array(line.utf8), context: "alice"))
        let idValue = try JSONCoding.parse(Array(id.utf8))
        let expected: JSONValue = ["jsonrpc": "2.0", "id": idValue, "result": Self.expectedListing(5)]
        #expect(bytes == JSONCoding.serialize(expected))
    }

    @Test func anImmediateAnswerIsTheSameAsTheHandlersAnswer() async throws {
        let line = Array(#"{"jsonrpc":"2.0","id":1,"method":"listing","params":{"n":2}}"#.utf8)
        let immediate = try #require(dispatcher.answerImmediately(line: line, context: "alice"))
        #expect(immediate == (await dispatcher.handle(line: line, context: "alice")))
        #expect(try JSONCoding.parse(immediate)["result"] == Self.expectedListing(2))
    }

    @Test(arguments: [
        #"{"jsonrpc":"2.0","id":1,"method":"listing","params":{"n":50}}"#,  // the method says: not now
        #"{"jsonrpc":"2.0","id":1,"method":"plain"}"#,  // no immediate form
        #"{"jsonrpc":"2.0","method":"listing","params":{"n":1}}"#,  // a notification: no answer at all
        #"[{"jsonrpc":"2.0","id":1,"method":"listing","params":{"n":1}}]"#,  // a batch
        #"{"jsonrpc":"2.0","id":1,"method":"nope"}"#,  // unknown: the handler path says so
        "{",  // malformed: likewise
    ])
    func whatCannotBeAnsweredAtOnceIsLeftToTheHandler(line: String) {
        #expect(dispatcher.answerImmediately(line: Array(line.utf8), context: "alice") == nil)
    }

    @Test func errorsAndRefusalsAreAnsweredAtOnce() throws {
        let invalid = Array(#"{"jsonrpc":"2.0","id":3,"method":"listing","params":{"n":"x"}}"#.utf8)
        let answer = try JSONCoding.parse(try #require(dispatcher.answerImmediately(line: invalid, context: "alice")))
        #expect(answer["error"]?["code"] == .integer(-32602))
        #expect(answer["id"] == 3)
        let refused = Array(#"{"jsonrpc":"2.0","id":4,"method":"denied"}"#.utf8)
        let refusal = try JSONCoding.parse(try #require(dispatcher.answerImmediately(line: refused, context: "alice")))
        #expect(refusal["error"]?["message"]?.stringValue?.hasSuffix("not you") == true)
    }

    /// A direct call and a batch get the value, parsed back from the text.
    @Test func callsAndBatchesSeeTheValue() async throws {
        let outcome = await dispatcher.call(
            RPCRequest(id: .number(1), method: "listing", params: ["n": 3]),
            context: "alice"
        )
        #expect(try outcome.get() == Self.expectedListing(3))
        let batch = Array(
            #"[{"jsonrpc":"2.0","id":1,"method":"listing","params":{"n":1}},{"jsonrpc":"2.0","id":2,"method":"plain"}]"#
                .utf8
        )
        let answers = try JSONCoding.parse(try #require(await dispatcher.handle(line: batch, context: "bob")))
        #expect(
            answers == [
                ["jsonrpc": "2.0", "id": 1, "result": Self.expectedListing(1)],
                ["jsonrpc": "2.0", "id": 2, "result": ["caller": "bob", "list": [1, 2]]],
            ]
        )
    }
}
