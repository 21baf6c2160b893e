import Testing

@testable import OutpostFiles

#if canImport(Glibc)
import Glibc
#endif

@Suite("reading directories")
struct DirectoryReaderTests {
    /// The names `ls` of `root` gives, read by the test itself with readdir(3).
    func namesByReaddir(_ directory: String) -> Set<[UInt8]> {
        var names: Set<[UInt8]> = []
        guard let stream = opendir(directory) else { return names }
        defer { closedir(stream) }
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { Array($0.prefix { $0 != 0 }) }
            if name != [46] && name != [46, 46] { names.insert(name) }
        }
        return names
    }

    @Test("a directory larger than one read is read whole, each name once, types and NUL-terminated names intact")
    func directoryLargerThanOneRead() throws {
        let tree = SandboxTree()
        // 3,000 names of 200 bytes: about 650 KiB of entries, twenty reads of the 32 KiB buffer.
        for index in 0..<3000 {
            let number = String(index)
            let name = String(repeating: "0", count: 4 - number.count) + number + String(repeating: "n", count: 196)
            if index % 100 == 0 { mkdir(tree.root + "/" + name, 0o755) } else { tree.write(tree.root + "/" + name, "") }
        }
        let directory = OwnedDescriptor(open(tree.root, O_RDONLY | O_DIRECTORY))
        var seen: [[UInt8]] = []
        var directories = 0
        try DirectoryReader.forEach(in: directory, path: "data:") { entry in
            #expect(strlen(entry.cName) == entry.name.count, "the C name ends where the name does")
            seen.append(entry.bytes)
            if entry.type == UInt8(DT_DIR) { directories += 1 }
        }
        #expect(seen.count == 3000 && Set(seen).count == 3000, "each entry once")
        #expect(Set(seen) == namesByReaddir(tree.root))
        #expect(directories == 30)
        #expect(DirectoryReader.bufferBytes < 3000 * 200, "the test spans several reads")

        // Read again through the same descriptor: from the start, not from where the first walk ended.
        var again = 0
        try DirectoryReader.forEach(in: directory, path: "data:") { _ in again += 1 }
        #expect(again == 3000)
    }

    @Test("an empty directory has no entries, not even . and ..")
    func emptyDirectory() throws {
        let tree = SandboxTree()
        let directory = OwnedDescriptor(open(tree.root, O_RDONLY | O_DIRECTORY))
        var count = 0
        try DirectoryReader.forEach(in: directory, path: "data:") { _ in count += 1 }
        #expect(count == 0)
    }

    @Test("a descriptor that is not a readable directory is a clear error")
    func notADirectory() throws {
        let tree = SandboxTree()
        tree.write(tree.root + "/file", "x")
        let file = OwnedDescriptor(open(tree.root + "/file", O_RDONLY))
        #expect(throws: FileOperationError.self) {
            try DirectoryReader.forEach(in: file, path: "data:file") { _ in }
        }
    }

    @Test("file times are listed to the microsecond, truncated, as the nearest Double")
    func modificationTimeToTheMicrosecond() throws {
        #expect(FileEntry.seconds(timespec(tv_sec: 1_700_000_000, tv_nsec: 123_456_789)) == 1_700_000_000.123456)
        #expect(FileEntry.seconds(timespec(tv_sec: 1_700_000_000, tv_nsec: 999)) == 1_700_000_000)
        #expect(FileEntry.seconds(timespec(tv_sec: -2, tv_nsec: 500_000_000)) == -1.5)
        #expect(FileEntry.seconds(timespec(tv_sec: Int.max, tv_nsec: 0)) == Double(Int.max), "no overflow")
        // Written in at most 16 significant digits, so a reader's fast path parses it back exactly.
        #expect("\(FileEntry.seconds(timespec(tv_sec: 1_799_999_999, tv_nsec: 999_999_999)))" == "1799999999.999999")

        let tree = SandboxTree()
        tree.write(tree.root + "/file", "x")
        var times = [
            timespec(tv_sec: 1_650_000_000, tv_nsec: 0), timespec(tv_sec: 1_650_000_000, tv_nsec: 987_654_321),
        ]
        #expect(utimensat(AT_FDCWD, tree.root + "/file", &times, 0) == 0)
        let entries = try FileListing.list(
            try SandboxPath("data:"),
            directoryItself: false,
            resolver: tree.resolver,
            caller: me,
            control: .init()
        )
        #expect(entries.map(\.modified) == [1_650_000_000.987654])
    }
}
