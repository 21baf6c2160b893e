import Testing

@testable import OutpostFiles

#if canImport(Glibc)
import Glibc
#endif

@Suite("sandbox paths never leave their root")
struct SandboxResolverTests {
    @Test(arguments: [
        "data:../outside/secret", "data:sub/../../outside/secret", "data:abs", "data:rel", "data:/../outside",
    ])
    func escapesAreErrors(path: String) throws {
        let tree = SandboxTree()
        mkdir(tree.root + "/sub", 0o755)
        symlink("/etc", tree.root + "/abs")
        symlink("../outside", tree.root + "/rel")
        let sandboxPath = try SandboxPath(path)
        #expect {
            _ = try FileListing.list(
                sandboxPath,
                directoryItself: false,
                resolver: tree.resolver,
                caller: me,
                control: .init()
            )
        } throws: { error in
            (error as? FileOperationError)?.code == .escapesSandbox
        }
    }

    @Test func aSymlinkInsideTheSandboxIsFollowed() throws {
        let tree = SandboxTree()
        mkdir(tree.root + "/real", 0o755)
        tree.write(tree.root + "/real/file", "x")
        symlink("real", tree.root + "/alias")
        let entries = try FileListing.list(
            try SandboxPath("data:alias"),
            directoryItself: false,
            resolver: tree.resolver,
            caller: me,
            control: .init()
        )
        #expect(entries.map(\.name) == ["file"])
    }

    @Test func unknownRootsAndNoSandboxAreErrors() throws {
        let tree = SandboxTree()
        #expect(throws: FileOperationError.self) { _ = try tree.resolver.openRoot(of: try SandboxPath("other:x")) }
        #expect(throws: FileOperationError.self) { _ = try tree.resolver.openRoot(of: try SandboxPath("/etc")) }
        let nothing = SandboxResolver(roots: .roots([:]))
        do {
            _ = try nothing.openRoot(of: try SandboxPath("x"))
            Issue.record("a user without a sandbox reached something")
        } catch {
            #expect(error.message.contains("no sandbox"))
        }
    }

    @Test func nulBytesAndLongNamesAreInvalid() {
        #expect(throws: FileOperationError.self) { try SandboxPath("data:a\u{0}b") }
        #expect(throws: FileOperationError.self) { try SandboxPath("data:" + String(repeating: "n", count: 4096)) }
    }

    @Test func percentUExpandsToTheUser() {
        #expect(SandboxRoots(mapping: ["home": "/srv/%u"], userName: "alice") == .roots(["home": "/srv/alice"]))
    }
}
