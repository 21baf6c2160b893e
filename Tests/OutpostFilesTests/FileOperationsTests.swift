import Testing

@testable import OutpostFiles

#if canImport(Glibc)
import Glibc
#endif

@Suite("ls, du, mkdir, mv, rm against the file system")
struct FileOperationsTests {
    @Test func listShowsTypesSizesAndAccess() throws {
        let tree = SandboxTree()
        tree.write(tree.root + "/file", "12345")
        mkdir(tree.root + "/dir", 0o700)
        symlink("file", tree.root + "/link")
        tree.write(tree.root + "/new\nline", "")
        let entries = try FileListing.list(
            try SandboxPath("data:"),
            directoryItself: false,
            resolver: tree.resolver,
            caller: me,
            control: .init()
        )
        let byName = Dictionary(uniqueKeysWithValues: entries.map { ($0.name, $0) })
        #expect(byName.count == 4)
        #expect(byName["file"]?.kind == .file)
        #expect(byName["file"]?.size == 5)
        #expect(byName["dir"]?.kind == .directory)
        #expect(byName["dir"]?.size == 0)
        #expect(byName["link"]?.kind == .symlink)
        #expect(byName["new\nline"] != nil)
        #expect(byName["file"].map { $0.access & 6 == 6 } == true)

        let itself = try FileListing.list(
            try SandboxPath("data:dir"),
            directoryItself: true,
            resolver: tree.resolver,
            caller: me,
            control: .init()
        )
        #expect(itself.count == 1 && itself[0].name == "dir" && itself[0].kind == .directory)
    }

    @Test func accessBitsFollowOwnerGroupAndOther() {
        var status = stat()
        status.st_mode = S_IFREG | 0o640
        status.st_uid = 1000
        status.st_gid = 2000
        #expect(FileCaller(uid: 1000, groups: []).access(to: status) == 6)
        #expect(FileCaller(uid: 1001, groups: [2000]).access(to: status) == 4)
        #expect(FileCaller(uid: 1002, groups: [3000]).access(to: status) == 0)
        #expect(FileCaller(uid: 0, groups: []).access(to: status) == 6)
    }

    @Test func duCountsHardLinksOnceAndSkipsSymlinks() throws {
        let tree = SandboxTree()
        mkdir(tree.root + "/a", 0o755)
        tree.write(tree.root + "/a/one", String(repeating: "x", count: 1000))
        link(tree.root + "/a/one", tree.root + "/a/hardlink")
        tree.write(tree.root + "/two", String(repeating: "y", count: 24))
        symlink(tree.outside + "/secret", tree.root + "/a/out")
        // A sparse file counts its apparent size.
        let fd = open(tree.root + "/sparse", O_WRONLY | O_CREAT, 0o644)
        ftruncate(fd, 1 << 20)
        close(fd)
        let total = try FileListing.diskUsage(try SandboxPath("data:"), resolver: tree.resolver, control: .init())
        #expect(total == 1000 + 24 + (1 << 20))
    }

    @Test func mkdirCreatesParentsAndToleratesExisting() throws {
        let tree = SandboxTree()
        try FileMutations.makeDirectory(try SandboxPath("data:x/y/z"), resolver: tree.resolver)
        try FileMutations.makeDirectory(try SandboxPath("data:x/y"), resolver: tree.resolver)
        #expect(tree.exists(tree.root + "/x/y/z"))
        symlink(tree.outside, tree.root + "/escape")
        #expect(throws: FileOperationError.self) {
            try FileMutations.makeDirectory(try SandboxPath("data:escape/new"), resolver: tree.resolver)
        }
        #expect(!tree.exists(tree.outside + "/new"))
    }

    @Test func rmRemovesTreesAndLinksButNeverFollowsThem() throws {
        let tree = SandboxTree()
        mkdir(tree.root + "/t", 0o755)
        mkdir(tree.root + "/t/deep", 0o755)
        tree.write(tree.root + "/t/deep/f", "x")
        symlink(tree.outside, tree.root + "/t/link-to-outside")
        try FileMutations.remove(try SandboxPath("data:t"), resolver: tree.resolver, control: .init())
        #expect(!tree.exists(tree.root + "/t"))
        #expect(tree.exists(tree.outside + "/secret"))
        #expect(throws: FileOperationError.self) {
            try FileMutations.remove(try SandboxPath("data:"), resolver: tree.resolver, control: .init())
        }
    }

    @Test func rmOfACancelledRequestStops() throws {
        let tree = SandboxTree()
        mkdir(tree.root + "/many", 0o755)
        for index in 0..<100 { tree.write(tree.root + "/many/\(index)", "") }
        let control = OperationControl()
        control.cancel()
        #expect {
            try FileMutations.remove(try SandboxPath("data:many"), resolver: tree.resolver, control: control)
        } throws: { ($0 as? FileOperationError)?.code == .cancelled }
        #expect(tree.exists(tree.root + "/many"))
    }

    @Test func mvRenamesAndRefusesToLeaveTheSandbox() throws {
        let tree = SandboxTree()
        tree.write(tree.root + "/a", "content")
        try FileMutations.move(
            try SandboxPath("data:a"),
            to: try SandboxPath("data:b"),
            resolver: tree.resolver,
            control: .init()
        )
        #expect(!tree.exists(tree.root + "/a") && tree.exists(tree.root + "/b"))
        #expect(throws: FileOperationError.self) {
            try FileMutations.move(
                try SandboxPath("data:b"),
                to: try SandboxPath("data:../outside/b"),
                resolver: tree.resolver,
                control: .init()
            )
        }
        #expect(tree.exists(tree.root + "/b"))
        mkdir(tree.root + "/d", 0o755)
        #expect {
            try FileMutations.move(
                try SandboxPath("data:d"),
                to: try SandboxPath("data:d/inside"),
                resolver: tree.resolver,
                control: .init()
            )
        } throws: { ($0 as? FileOperationError)?.code == .refused }
    }
}
