import Testing

@testable import OutpostFiles

#if canImport(Glibc)
import Glibc
#endif

/// The rule for symlinks on the way to a sandbox root: followed only when no user could have made or replaced them
/// (root's, in root's directory that only root may write); refused otherwise, with a message that says so. Both the
/// fast path (openat2) and the component walk (kernels and filters without openat2) are held to it.
@Suite("sandbox roots are opened without following a user's symlink")
struct SandboxRootOpenerTests {
    /// The directory `fd` is open on, by its identity.
    func identity(_ fd: Int32) -> (UInt64, UInt64) {
        var status = stat()
        fstat(fd, &status)
        return (UInt64(status.st_dev), UInt64(status.st_ino))
    }

    func identity(_ path: String) -> (UInt64, UInt64) {
        var status = stat()
        stat(path, &status)
        return (UInt64(status.st_dev), UInt64(status.st_ino))
    }

    @Test("a root-owned symlink in a root-only directory is followed, by both paths, relative or absolute")
    func trustedSymlinks() throws {
        guard geteuid() == 0 else { return }  // the links must belong to root
        let tree = SandboxTree()
        chmod(tree.base, 0o755)
        mkdir(tree.base + "/links", 0o755)
        mkdir(tree.root + "/inner", 0o755)
        symlink(tree.root, tree.base + "/links/absolute")
        symlink("../root/inner", tree.base + "/links/relative")
        for (link, target) in [("absolute", tree.root), ("relative", tree.root + "/inner")] {
            let path = tree.base + "/links/" + link
            let viaOpen = try SandboxRootOpener.open(path)
            #expect(identity(viaOpen.raw) == identity(target), "\(link)")
            let viaWalk = try SandboxRootOpener.walk(path)
            #expect(identity(viaWalk.raw) == identity(target), "\(link) (walk)")
        }
    }

    @Test("a symlink a user owns, or one in a directory others may write, is refused by both paths")
    func untrustedSymlinks() throws {
        let tree = SandboxTree()
        chmod(tree.base, 0o755)
        mkdir(tree.base + "/userdir", 0o755)
        symlink("/", tree.base + "/userdir/data")
        lchown(tree.base + "/userdir/data", 65534, 65534)
        mkdir(tree.base + "/shared", 0o755)
        chmod(tree.base + "/shared", 0o777)  // (mkdir is subject to the umask)
        symlink(tree.root, tree.base + "/shared/data")
        for path in [tree.base + "/userdir/data", tree.base + "/shared/data"] {
            for walk in [false, true] {
                var refusal: SandboxRootOpener.Refusal?
                do {
                    _ = walk ? try SandboxRootOpener.walk(path) : try SandboxRootOpener.open(path)
                } catch {
                    refusal = error
                }
                #expect(refusal?.errno == ELOOP && refusal?.message.contains("symlink") == true, "\(path) \(walk)")
            }
        }
        // Through the resolver, as every file method opens roots: the caller sees why, and nothing of `/`.
        let resolver = SandboxResolver(roots: .roots(["data": tree.base + "/userdir/data"]))
        let path = try SandboxPath("data:etc")
        var failure: FileOperationError?
        do {
            _ = try FileListing.list(path, directoryItself: false, resolver: resolver, caller: me, control: .init())
        } catch {
            failure = error
        }
        #expect(failure?.code == .escapesSandbox && failure?.message.contains("symlink") == true)
    }

    @Test("the walk agrees with the kernel on plain paths, `.` and `..`, and says what is wrong")
    func walkOfPlainPaths() throws {
        let tree = SandboxTree()
        mkdir(tree.root + "/a", 0o755)
        mkdir(tree.root + "/a/b", 0o755)
        for path in [tree.root, tree.root + "/a/b", tree.root + "/./a/../a/b/", "/"] {
            let walked = try SandboxRootOpener.walk(path)
            #expect(identity(walked.raw) == identity(path), "\(path)")
        }
        tree.write(tree.root + "/file", "x")
        for (path, errno) in [(tree.root + "/file", ENOTDIR), (tree.root + "/missing", ENOENT), ("relative", EINVAL)] {
            var refusal: SandboxRootOpener.Refusal?
            do {
                _ = path.hasPrefix("/") ? try SandboxRootOpener.walk(path) : try SandboxRootOpener.open(path)
            } catch {
                refusal = error
            }
            #expect(refusal?.errno == errno, "\(path)")
        }
    }

    @Test("the resolver in use is the one asked for: OUTPOST_RESOLVER=walk runs these suites without openat2")
    func resolverInUse() {
        let forced = getenv("OUTPOST_RESOLVER").map { String(cString: $0) } == "walk"
        #expect(forced ? SandboxResolver.kernelResolver == "component walk" : true)
    }
}
