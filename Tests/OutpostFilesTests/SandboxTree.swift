@testable import OutpostFiles

#if canImport(Glibc)
import Glibc
#endif

/// A scratch sandbox for one test: `root` is the sandbox, `outside` is a sibling the sandbox must never reach.
final class SandboxTree: @unchecked Sendable {
    let base: String
    var root: String { base + "/root" }
    var outside: String { base + "/outside" }

    init() {
        var template = Array("/tmp/outpost-files-XXXXXX".utf8CString)
        base = String(cString: template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!)! })
        mkdir(root, 0o755)
        mkdir(outside, 0o755)
        write(outside + "/secret", "secret")
    }

    deinit {
        let words: [String] = ["/bin/rm", "-rf", base]
        let argv: [UnsafeMutablePointer<CChar>?] = words.map { strdup($0) } + [nil]
        var pid: pid_t = 0
        if posix_spawn(&pid, "/bin/rm", nil, nil, argv, environ) == 0 { waitpid(pid, nil, 0) }
        for pointer in argv { free(pointer) }
    }

    var resolver: SandboxResolver { SandboxResolver(roots: .roots(["data": root])) }

    func write(_ path: String, _ text: String) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        _ = text.utf8CString.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count - 1) }
        close(fd)
    }

    func exists(_ path: String) -> Bool {
        var status = stat()
        return lstat(path, &status) == 0
    }
}

let me = FileCaller(uid: geteuid(), groups: [getegid()])
