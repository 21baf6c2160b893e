import OutpostClient
import OutpostRPC
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A second Unix user against the real daemon: they see only their own sandbox and requests and cannot act as a
/// superuser. Needs root (CI runs as root) to create the user and to run outpostctl as them through `setpriv`.
@Suite("identity: a second Unix user (real binaries)", .serialized)
struct IdentityTests {
    static let peer = "outpost-test-peer"

    func ensurePeerUser() throws -> (uid: UInt32, gid: UInt32) {
        if getpwnam(Self.peer) == nil {
            let directory = try TemporaryDirectory()
            let add = try ChildProcess(
                "/usr/sbin/useradd",
                ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", Self.peer],
                environment: ["PATH": "/usr/sbin:/usr/bin:/bin"],
                directory: directory
            )
            guard try add.waitForExit(timeout: .seconds(30)) == 0 else {
                throw TestFailure("useradd failed: \(add.standardError)")
            }
        }
        guard let entry = getpwnam(Self.peer) else { throw TestFailure("no user \(Self.peer)") }
        return (entry.pointee.pw_uid, entry.pointee.pw_gid)
    }

    @Test("the peer sees only their sandbox and requests, and no superuser call works for them")
    func secondUser() throws {
        guard geteuid() == 0 else { throw TestFailure("this test needs root (as CI runs): it creates a Unix user") }
        let (uid, gid) = try ensurePeerUser()
        let directory = try TemporaryDirectory()
        chmod(directory.path, 0o755)
        let sandboxes = directory.file("sandboxes")
        mkdir(sandboxes, 0o755)
        mkdir(sandboxes + "/" + Self.peer, 0o755)
        mkdir(sandboxes + "/" + UnixUserName.current, 0o700)
        try writeFile(sandboxes + "/" + Self.peer + "/mine", "peer data")
        try writeFile(sandboxes + "/" + UnixUserName.current + "/private", "root data")
        let daemon = try Daemon(
            config: "[control]\nsocket_mode = \"0666\"\n[sandbox]\n\"\" = { data = \"\(sandboxes)/%u\" }\n",
            directory: directory
        )

        // A request of root's, which the peer must not be able to see.
        let rootClient = try daemon.client()
        let rootRequest = try rootClient.call("lsAsync", ["path": "data:"])["requestId"]!.integerValue!

        func asPeer(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
            let process = try ChildProcess(
                "/usr/bin/setpriv",
                ["--reuid=\(uid)", "--regid=\(gid)", "--clear-groups", try BuiltProducts.path("outpostctl")]
                    + arguments + ["--socket", daemon.socketPath],
                environment: ["PATH": "/usr/bin:/bin"],
                directory: directory
            )
            let status = try process.waitForExit(timeout: .seconds(20))
            return (status, process.standardOutput, process.standardError)
        }

        let info = try asPeer(["info", "--json"])
        #expect(info.status == 0, "\(info.stderr)")
        #expect(try JSONCoding.parse(Array(info.stdout.utf8))["userName"] == .string(Self.peer))
        let listing = try asPeer(["ls", "data:"])
        #expect(listing.status == 0, "\(listing.stderr)")
        #expect(listing.stdout.contains("mine") && !listing.stdout.contains("private"))
        #expect(try asPeer(["ls", "data:../" + UnixUserName.current]).status == 77)
        #expect(try asPeer(["request", "status", String(rootRequest)]).status == 1)
        #expect(try asPeer(["request", "result", String(rootRequest)]).stderr.contains("not found"))
        let peerRequests = try asPeer(["request", "list"]).stdout.split(separator: "\n")
        #expect(!peerRequests.isEmpty)  // the peer's own ls requests
        #expect(!peerRequests.contains { $0.hasPrefix("\(rootRequest)\t") })
        for superuserCommand in [["gc"], ["sandbox", "get"], ["info", "--superuser"]] {
            let result = try asPeer(superuserCommand)
            #expect(result.status == 77, "\(superuserCommand): \(result.stderr)")
        }
        // The lanes are for superusers and [lanes] control_group only: the state holds task arguments.
        for lanesCommand in [
            ["status"], ["pause"], ["submit", "--socket", daemon.socketPath, "--", "/bin/true"], ["abort", "1"],
        ] {
            let result = try asPeer(lanesCommand)
            #expect(result.status == 77, "\(lanesCommand): \(result.stderr)")
            #expect(result.stderr.contains("control_group"), "\(lanesCommand): \(result.stderr)")
        }
        // Root's own request is still there for root.
        #expect(try rootClient.call("getRequestStatus", ["requestId": .integer(rootRequest)])["status"] != nil)
        #expect(try daemon.stop() == 0)
    }
}
