import OutpostFiles
import OutpostRPC
import Testing

@testable import OutpostNode

/// A listing written straight to bytes must be exactly what serializing it as a `JSONValue` gives: clients (and the
/// tests that compare listings with the file system) cannot tell the two paths apart.
struct ListingJSONTests {
    @Test func aListingWrittenAsBytesIsTheSerializedValue() throws {
        let entries = [
            FileEntry(name: "plain.txt", kind: .file, size: 12, modified: 1_700_000_000, access: 6),
            FileEntry(
                name: "line\nbreak \"quoted\" back\\slash\u{01}",
                kind: .file,
                size: 1 << 40,
                modified: 1.5,
                access: 4
            ),
            FileEntry(name: "café ☕ \u{10FF80}", kind: .directory, size: 0, modified: 1_700_000_000.123456, access: 7),
            FileEntry(name: "", kind: .symlink, size: 0, modified: -3.25, access: 0),
            FileEntry(name: "fifo", kind: .other, size: 0, modified: 0, access: 5),
        ]
        for path in ["data:", "data:a \"b\"/c", ""] {
            for count in [0, 1, entries.count] {
                let listed = Array(entries.prefix(count))
                let expected: JSONValue = ["path": .string(path), "files": .array(listed.map(\.json))]
                let bytes = FileEntry.listingJSON(path: path, entries: listed).bytes
                #expect(bytes == JSONCoding.serialize(expected), "\(path), \(count) entries")
            }
        }
    }
}
