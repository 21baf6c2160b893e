#if canImport(Glibc)
import Glibc
#endif

/// A private directory for one test, removed with everything in it when the test is done.
final class TemporaryDirectory: @unchecked Sendable {
    let path: String

    /// - Parameter inMemory: under /dev/shm (tmpfs) when it is there: for tests that make 100k files, which costs
    ///   seconds of kernel time on a disk and a tenth of that in memory.
    init(inMemory: Bool = false) throws {
        // Short paths: a Unix socket path must fit in 108 bytes.
        let base = inMemory && access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp"
        var template = Array("\(base)/outpost-test-XXXXXX".utf8CString)
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

/// The names in a directory (without `.` and `..`).
func listDirectory(_ path: String) throws -> [String] {
    guard let directory = opendir(path) else { throw TestFailure("cannot list \(path)") }
    defer { closedir(directory) }
    var names: [String] = []
    while let entry = readdir(directory) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        if name != "." && name != ".." { names.append(name) }
    }
    return names.sorted()
}
