import OutpostClient
import OutpostRPC
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// ls and du against the test's own walk of an awkward tree, names that are not UTF-8, symlinks swapped in while an
/// operation runs, and the event log those requests leave behind.
extension FileRequestTests {
    /// What the test itself sees in `directory`, by name bytes: (type as the API numbers it, size, mtime in seconds).
    func walkDirectory(_ directory: String) -> [[UInt8]: (type: Int64, size: Int64, mtime: Double)] {
        var entries: [[UInt8]: (Int64, Int64, Double)] = [:]
        guard let stream = opendir(directory) else { return entries }
        defer { closedir(stream) }
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { Array($0.prefix { $0 != 0 }) }
            if name == [46] || name == [46, 46] { continue }
            var status = stat()
            _ = (name + [0]).withUnsafeBufferPointer { buffer in
                buffer.withMemoryRebound(to: CChar.self) {
                    fstatat(dirfd(stream), $0.baseAddress!, &status, AT_SYMLINK_NOFOLLOW)
                }
            }
            let mtime = Double(status.st_mtim.tv_sec) + Double(status.st_mtim.tv_nsec) / 1e9
            switch status.st_mode & S_IFMT {
            case S_IFREG: entries[name] = (4, Int64(status.st_size), mtime)
            case S_IFDIR: entries[name] = (2, 0, mtime)
            case S_IFLNK: entries[name] = (5, 0, mtime)
            default: entries[name] = (0, Int64(status.st_size), mtime)
            }
        }
        return entries
    }

    /// The test's own reading of the API's lossless names: U+10FF80…U+10FFFF stand for the bytes 0x80…0xFF.
    func nameBytes(_ text: String) -> [UInt8] {
        text.unicodeScalars.flatMap { scalar -> [UInt8] in
            (0x10_FF80...0x10_FFFF).contains(scalar.value)
                ? [UInt8(scalar.value - 0x10_FF00)] : Array(String(scalar).utf8)
        }
    }

    /// Creates a file whose name is arbitrary bytes.
    func createFile(in directory: String, named name: [UInt8], contents: String = "") {
        let fd = open(directory, O_RDONLY | O_DIRECTORY)
        defer { close(fd) }
        let file = (name + [0]).withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { openat(fd, $0.baseAddress!, O_WRONLY | O_CREAT, 0o644) }
        }
        _ = contents.withCString { write(file, $0, strlen($0)) }
        close(file)
    }

    @Test("ls and du match a walk of a tree with sparse files, hard links, loops and names that are not UTF-8")
    func listingMatchesTheFileSystem() throws {
        let (daemon, sandbox) = try sandboxedDaemon()
        let client = try daemon.client(timeoutSeconds: 60)
        let tree = sandbox + "/tree"
        mkdir(tree, 0o755)
        mkdir(tree + "/sub", 0o755)
        try writeFile(tree + "/plain.txt", "twelve bytes")
        let sparse = open(tree + "/sparse", O_WRONLY | O_CREAT, 0o644)
        ftruncate(sparse, 10 << 30)  // 10 GiB apparent, nothing allocated
        close(sparse)
        try writeFile(tree + "/sub/linked", String(repeating: "h", count: 1000))
        link(tree + "/sub/linked", tree + "/hardlink")
        symlink("loop-b", tree + "/loop-a")
        symlink("loop-a", tree + "/loop-b")
        symlink("..", tree + "/sub/up")
        let awkward: [[UInt8]] = [
            Array("line\nbreak".utf8), [0x62, 0xFF, 0xFE, 0x61, 0x64], [0xC3, 0x28], Array("café ☕".utf8),
            [0xF4, 0x8F, 0xBE, 0x80],  // U+10FF80 itself, which must be escaped too
        ]
        for name in awkward { createFile(in: tree, named: name, contents: "xy") }

        // Small directories are listed where the request arrives, larger ones (over 8 KiB) by a worker: both the
        // same way, checked first with the tree as it is, then with the top directory grown past that size.
        try compareListings(of: [tree, tree + "/sub"], in: sandbox, client: client)
        for index in 0..<600 {
            createFile(in: tree, named: Array("filler-\(index)-".utf8) + [UInt8](repeating: 0x66, count: 30))
        }
        var status = stat()
        stat(tree, &status)
        #expect(status.st_size > 8192, "the grown directory is large enough for the worker pool")
        try compareListings(of: [tree], in: sandbox, client: client)

        // Regular files' apparent sizes, the hard-linked file once, links not followed (GNU `du -sb` would also add
        // the directories' and links' own sizes).
        let expected: Int64 = 12 + (10 << 30) + 1000 + 2 * Int64(awkward.count)
        #expect(try run(client, "duAsync", ["path": "data:tree"])["du"] == .integer(expected))

        // A listed name that is not UTF-8 goes back in and reaches exactly that file.
        let listing = try run(client, "lsAsync", ["path": "data:tree"])
        for file in listing["files"]?.arrayValue ?? [] {
            guard let name = file["name"]?.stringValue, awkward.contains(nameBytes(name)) else { continue }
            _ = try run(
                client,
                "mvAsync",
                ["path": .string("data:tree/" + name), "newPath": .string("data:tree/sub/" + name)]
            )
        }
        let moved = walkDirectory(tree + "/sub")
        #expect(awkward.allSatisfy { moved[$0]?.size == 2 }, "every awkward name moved intact")
        _ = try run(client, "rmAsync", ["path": "data:tree/sub"])
        #expect(!fileExists(tree + "/sub"))
        #expect(fileExists(tree + "/hardlink"))
        #expect(try daemon.stop() == 0)
    }

    /// Lists each directory through the API and compares name bytes, types, sizes and times with the test's own walk
    /// (times to the microsecond the API gives them in).
    func compareListings(of directories: [String], in sandbox: String, client: ControlClient) throws {
        for directory in directories {
            let relative = String(directory.dropFirst(sandbox.count + 1))
            let listing = try run(client, "lsAsync", ["path": .string("data:" + relative)])
            var listed: [[UInt8]: (type: Int64, size: Int64, mtime: Double)] = [:]
            for file in listing["files"]?.arrayValue ?? [] {
                let name = nameBytes(file["name"]?.stringValue ?? "")
                #expect(listed[name] == nil, "\(name) listed twice")
                listed[name] = (
                    file["type"]?.integerValue ?? -1, file["size"]?.integerValue ?? -1, file["mtime"]?.numberValue ?? -1
                )
            }
            let walked = walkDirectory(directory)
            #expect(Set(listed.keys) == Set(walked.keys), "names in \(relative)")
            for (name, expected) in walked {
                #expect(listed[name]?.type == expected.type && listed[name]?.size == expected.size, "\(name)")
                #expect(listed[name].map { abs($0.mtime - expected.mtime) < 1.5e-6 } == true, "\(name)'s mtime")
            }
        }
    }

    @Test("a symlink swapped in while rm or du runs never leads outside")
    func symlinkSwappedInDuringTheWalk() throws {
        let (daemon, sandbox) = try sandboxedDaemon(inMemory: true)
        let client = try daemon.client(timeoutSeconds: 60)
        let outside = daemon.directory.file("outside")
        mkdir(outside, 0o755)
        let huge = open(outside + "/huge", O_WRONLY | O_CREAT, 0o644)
        ftruncate(huge, 1 << 40)  // 1 TiB apparent: a du that strays outside cannot hide it
        close(huge)
        for index in 0..<20 { try writeFile(outside + "/keep\(index)", "keep") }

        for method in ["duAsync", "rmAsync"] {
            makeEmptyFiles(in: sandbox + "/walk", directories: 20, filesEach: 200)
            let id = try client.call(method, ["path": "data:walk"])["requestId"]!
            // Swap each directory for a symlink to `outside` while the walk goes on.
            for group in 0..<20 {
                rename(sandbox + "/walk/\(group)", sandbox + "/moved-\(method)-\(group)")
                symlink(outside, sandbox + "/walk/\(group)")
            }
            if method == "duAsync" {
                let result = try client.call("getRequestResult", ["requestId": id, "timeoutSeconds": 60])
                #expect((result["du"]?.integerValue ?? Int64.max) < 1 << 40, "du followed a swapped-in symlink")
            } else {
                // Links that appear after rm read a directory may stay (and are reported), as with `rm -rf`.
                do {
                    _ = try client.call("getRequestResult", ["requestId": id, "timeoutSeconds": 60])
                } catch {
                    #expect(error.message.contains("could not remove"), "\(error)")
                }
            }
            #expect(fileExists(outside + "/huge"))
            #expect((0..<20).allSatisfy { fileExists(outside + "/keep\($0)") }, "rm reached outside")
            _ = try? run(client, "rmAsync", ["path": "data:walk"])
        }
        #expect(try daemon.stop() == 0)
    }

    @Test("requests leave events: users see their own, a superuser sees all")
    func eventLog() throws {
        let (daemon, _) = try sandboxedDaemon()
        let client = try daemon.client(timeoutSeconds: 60)
        _ = try run(client, "lsAsync", ["path": "data:"])
        _ = try? run(client, "lsAsync", ["path": "data:missing"])
        let own = try client.call("getEventLog")["eventLog"]?.arrayValue ?? []
        #expect(
            own.compactMap { $0["_event"]?.stringValue } == [
                "requestSubmitted", "requestCompleted", "requestSubmitted", "requestFailed",
            ]
        )
        #expect(own.last?["errorMessage"]?.stringValue?.contains("data:missing") == true)
        #expect(own.allSatisfy { ($0["_timestamp"]?.integerValue ?? 0) > 1_600_000_000_000_000 })
        let limited = try client.call("getEventLog", ["eventName": "requestSubmitted", "limit": 1])
        #expect(limited["eventLog"]?.arrayValue?.first?["path"] == "data:missing")

        _ = try client.call("superuser")
        let all = try client.call("getEventLog")["eventLog"]?.arrayValue ?? []
        #expect(all.first?["_event"] == "serverStarted")
        #expect(try client.call("getThirdPartyLicenses")["swift-nio"]?.stringValue?.contains("Apache License") == true)

        // The log outlives the process.
        #expect(try daemon.stop() == 0)
        let again = try Daemon(directory: daemon.directory)
        let admin = try again.client()
        _ = try admin.call("superuser")
        let names = try admin.call("getEventLog")["eventLog"]?.arrayValue?.compactMap { $0["_event"]?.stringValue }
        #expect(names?.filter { $0 == "serverStarted" }.count == 2)
        #expect(names?.contains("requestFailed") == true)
        #expect(try again.stop() == 0)
    }
}
