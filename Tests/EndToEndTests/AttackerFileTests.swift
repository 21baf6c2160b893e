import OutpostClient
import OutpostRPC
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A plain Unix user attacks the file API of a real outpostd running as root, the way the attacks were found: a
/// sandbox root swapped for a symlink, a set-user-ID program moved across a mount, and a tree 10,000 levels deep.
@Suite("security: a plain user against the file API (real binaries)", .serialized)
struct AttackerFileTests {
    /// A node where the attacker has `home` (their own directory) and `data`, which sits in a directory the attacker
    /// owns, as `scratch = "/scratch/alice"` would; and a root-only directory with a secret beside them.
    struct Setup {
        let directory: TemporaryDirectory
        let attacker: Attacker
        let daemon: Daemon
        let home: String
        let userDirectory: String
        let rootOnly: String

        init(extraConfig: String = "") throws {
            directory = try TemporaryDirectory()
            chmod(directory.path, 0o755)
            attacker = try Attacker(directory: directory)
            home = directory.file("home")
            userDirectory = directory.file("userdir")
            rootOnly = directory.file("rootonly")
            for path in [home, userDirectory, userDirectory + "/data"] {
                mkdir(path, 0o755)
                attacker.give(path)
            }
            mkdir(rootOnly, 0o700)
            try writeFile(rootOnly + "/secret.txt", "root's secret\n", mode: 0o600)
            daemon = try Daemon(
                config: """
                    [control]
                    socket_mode = "0666"
                    \(extraConfig)
                    [sandbox]
                    "\(IdentityTests.peer)" = { home = "\(home)", data = "\(userDirectory)/data" }
                    """,
                directory: directory
            )
        }

        func outpostctl(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
            try attacker.outpostctl(arguments, socket: daemon.socketPath)
        }
    }

    @Test("a sandbox root swapped for a symlink (to / or to root's directory) reaches nothing")
    func symlinkedRoot() throws {
        let setup = try Setup()
        try writeFile(setup.userDirectory + "/data/mine.txt", "mine\n")
        let before = try setup.outpostctl(["ls", "data:"])
        #expect(before.status == 0 && before.stdout.contains("mine.txt"), "\(before.stderr)")

        // The attack: the user owns the directory that holds their sandbox root.
        try setup.attacker.shell("cd \(setup.userDirectory) && mv data data.orig && ln -s \(setup.rootOnly) data")
        let listing = try setup.outpostctl(["ls", "data:"])
        #expect(listing.status != 0 && !listing.stdout.contains("secret.txt"), "\(listing.stdout)")
        #expect(listing.stderr.contains("symlink"), "\(listing.stderr)")
        let moved = try setup.outpostctl(["mv", "data:secret.txt", "home:x"])
        #expect(moved.status != 0)
        #expect(fileExists(setup.rootOnly + "/secret.txt") && !fileExists(setup.home + "/x"))
        let read = try setup.outpostctl(["du", "data:secret.txt"])
        #expect(read.status != 0)

        try setup.attacker.shell("cd \(setup.userDirectory) && rm data && ln -s / data")
        let slash = try setup.outpostctl(["ls", "data:etc"])
        #expect(slash.status != 0 && !slash.stdout.contains("passwd"), "\(slash.stdout)")
        // Their other root is not affected.
        #expect(try setup.outpostctl(["ls", "home:"]).status == 0)
    }

    @Test("a set-user-ID program moved across a mount arrives as the caller's, without the bit; any file system")
    func moveAcrossMountsMakesNoSetUIDRoot() throws {
        let setup = try Setup()
        let mount2 = setup.home + "/mnt2"
        mkdir(mount2, 0o755)
        // A file system of another type than the test's directory (tmpfs), as a second disk would be.
        guard mount("tmpfs", mount2, "tmpfs", UInt(0), "mode=0755,size=64m") == 0 else {
            throw TestFailure("cannot mount a tmpfs: \(String(cString: strerror(errno)))")
        }
        defer { umount2(mount2, Int32(MNT_DETACH)) }
        setup.attacker.give(mount2)
        let prepared = try setup.attacker.shell(
            "cd \(setup.home) && cp /usr/bin/id myid && chmod 4755 myid && mkdir -p tree/sub && : > tree/sub/empty"
                + " && : > empty && chmod 2755 tree"
        )
        #expect(prepared.status == 0, "\(prepared.stderr)")
        for name in ["myid", "tree", "empty"] {
            let moved = try setup.outpostctl(["mv", "home:\(name)", "home:mnt2/\(name)"])
            #expect(moved.status == 0, "\(name): \(moved.stderr)")
        }
        for path in ["myid", "tree", "tree/sub", "tree/sub/empty", "empty"].map({ mount2 + "/" + $0 }) {
            var status = stat()
            #expect(lstat(path, &status) == 0, "\(path) is missing")
            #expect(status.st_uid == setup.attacker.uid && status.st_gid == setup.attacker.gid, "\(path) is not theirs")
            #expect(status.st_mode & 0o6000 == 0, "\(path) is set-ID: \(String(status.st_mode, radix: 8))")
        }
        #expect(try readFile(mount2 + "/myid").utf8.count == (try readFile("/usr/bin/id")).utf8.count)
        let ran = try setup.attacker.run(mount2 + "/myid", [])
        #expect(ran.status == 0 && !ran.stdout.contains("euid=0"), "\(ran.stdout)")
        #expect(!fileExists(setup.home + "/myid"))
    }

    @Test("du and rm of a tree 10,000 levels deep in the user's own sandbox: right answers, the daemon lives")
    func deepTree() throws {
        let setup = try Setup()
        let depth = 10_000
        let data = setup.userDirectory + "/data"
        try writeFile(data + "/top.txt", "12345")
        // Built through descriptors: the path is far longer than PATH_MAX.
        var fd = open(data, O_RDONLY | O_DIRECTORY)
        for _ in 0..<depth {
            mkdirat(fd, "d", 0o755)
            fchownat(fd, "d", setup.attacker.uid, setup.attacker.gid, AT_SYMLINK_NOFOLLOW)
            let next = openat(fd, "d", O_RDONLY | O_DIRECTORY)
            close(fd)
            fd = next
        }
        let file = openat(fd, "bottom.bin", O_WRONLY | O_CREAT, 0o644)
        ftruncate(file, 1000)
        close(file)
        close(fd)

        let usage = try setup.outpostctl(["du", "data:"])
        #expect(usage.status == 0, "\(usage.stderr)")
        #expect(usage.stdout.hasPrefix("1005\t"), "\(usage.stdout)")
        let removed = try setup.outpostctl(["rm", "data:d"])
        #expect(removed.status == 0, "\(removed.stderr) \(removed.stdout)")
        #expect(!fileExists(data + "/d") && fileExists(data + "/top.txt"))
        #expect(try setup.daemon.client().call("echo", ["text": "alive"]) == "alive")
    }

    @Test("the kernel decides as for the user: root's files inside their sandbox stay closed, what they make is theirs")
    func actsAsTheCaller() throws {
        let setup = try Setup()
        let data = setup.userDirectory + "/data"
        mkdir(data + "/rootonly", 0o700)
        try writeFile(data + "/rootonly/secret.txt", "root's\n", mode: 0o600)
        try writeFile(data + "/readonly.txt", "root's\n", mode: 0o644)
        for command in [["ls", "data:rootonly"], ["du", "data:rootonly"], ["rm", "data:rootonly/secret.txt"]] {
            let refused = try setup.outpostctl(command)
            #expect(refused.status != 0 && refused.stderr.contains("permission denied"), "\(command): \(refused)")
        }
        #expect(fileExists(data + "/rootonly/secret.txt"))
        let moved = try setup.outpostctl(["mv", "data:readonly.txt", "data:rootonly/x"])
        #expect(moved.status != 0)
        let made = try setup.outpostctl(["mkdir", "data:new/deeper"])
        #expect(made.status == 0, "\(made.stderr)")
        for path in [data + "/new", data + "/new/deeper"] {
            var status = stat()
            stat(path, &status)
            #expect(status.st_uid == setup.attacker.uid && status.st_gid == setup.attacker.gid, "\(path)")
        }
        // Root, as a superuser, still reaches everything.
        let root = try setup.daemon.client()
        _ = try root.call("superuser")
        #expect(try root.call("echo", ["text": "ok"]) == "ok")
    }
}
