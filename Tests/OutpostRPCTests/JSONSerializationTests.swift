import Testing

@testable import OutpostRPC

@Suite("JSON text")
struct JSONSerializationTests {
    @Test(arguments: [Int64.min, -1, 0, 7, 10, 1_234_567_890, Int64.max])
    func integersRoundTrip(number: Int64) throws {
        let text = JSONCoding.serializeToString(.integer(number))
        #expect(text == String(number))
        #expect(try JSONCoding.parse(Array(text.utf8)) == .integer(number))
    }

    @Test func stringsAreEscapedOnlyWhereNeeded() throws {
        for text in ["plain", "quote \" and \\ backslash", "line\nbreak\ttab\r", "\u{1}\u{1F}", "café ☕ \u{10FFFF}"] {
            let bytes = JSONCoding.serialize(.string(text))
            #expect(!bytes.contains { $0 < 0x20 }, "raw control byte in \(bytes)")
            #expect(try JSONCoding.parse(bytes) == .string(text))
        }
    }

    @Test func objectKeysAreSortedSoTheBytesAreStable() {
        let value: JSONValue = ["b": 1, "a": ["z": true, "y": .null], "c": [1, 2.5, "x"]]
        #expect(JSONCoding.serializeToString(value) == #"{"a":{"y":null,"z":true},"b":1,"c":[1,2.5,"x"]}"#)
    }
}
