import OutpostRPC

#if canImport(Glibc)
import Glibc
#endif

/// The attacker of the security tests: a plain Unix user (the test peer, which `IdentityTests` creates), running
/// real programs through `setpriv` with no supplementary groups, as a local user of a shared machine would.
struct Attacker {
    let uid: UInt32
    let gid: UInt32
    let directory: TemporaryDirectory

    init(directory: TemporaryDirectory) throws {
        guard geteuid() == 0 else { throw TestFailure("needs root (as CI runs): it creates and becomes a Unix user") }
        (uid, gid) = try IdentityTests().ensurePeerUser()
        self.directory = directory
    }

    var name: String { IdentityTests.peer }

    /// Runs `executable` as the attacker; its exit status and output.
    @discardableResult
    func run(
        _ executable: String,
        _ arguments: [String],
        timeout: Duration = .seconds(60)
    ) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = try ChildProcess(
            "/usr/bin/setpriv",
            ["--reuid=\(uid)", "--regid=\(gid)", "--clear-groups", "--", executable] + arguments,
            environment: ["PATH": "/usr/bin:/bin", "HOME": "/nonexistent"],
            directory: directory
        )
        let status = try process.waitForExit(timeout: timeout)
        return (status, process.standardOutput, process.standardError)
    }

    /// A shell command line as the attacker.
    @discardableResult
    func shell(_ command: String) throws -> (status: Int32, stdout: String, stderr: String) {
        try run("/bin/sh", ["-c", command])
    }

    /// `outpostctl ARGUMENTS --socket SOCKET` as the attacker.
    func outpostctl(_ arguments: [String], socket: String) throws -> (status: Int32, stdout: String, stderr: String) {
        try run(try BuiltProducts.path("outpostctl"), arguments + ["--socket", socket])
    }

    /// Makes `path` (a directory or file the test made as root) the attacker's.
    func give(_ path: String) {
        chown(path, uid, gid)
    }
}
