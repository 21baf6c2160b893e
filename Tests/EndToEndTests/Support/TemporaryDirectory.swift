#if canImport(Glibc)
import Glibc
#endif

/// A private directory for one test, removed with everything in it when the test is done.
final class TemporaryDirectory: @unchecked Sendable {
    let path: String

    init() throws {
        // Short paths: a Unix socket path must fit in 108 bytes.
        var template = Array("/tmp/outpost-test-XXXXXX".utf8CString)
        guard let created = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw TestFailure("mkdtemp failed")
        }
        path = String(cString: created)
    }

    deinit {
        let words: [String] = ["/bin/rm", "-rf", path]
        let argv: [UnsafeMutablePointer<CChar>?] = words.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        if posix_spawn(&pid, "/bin/rm", nil, nil, argv, environ) == 0 {
            waitpid(pid, nil, 0)
        }
    }

    func file(_ name: String) -> String { path + "/" + name }
}
