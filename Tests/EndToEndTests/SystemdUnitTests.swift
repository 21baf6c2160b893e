import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The shipped unit files, checked by systemd's own tools.
@Suite("systemd units")
struct SystemdUnitTests {
    /// systemd/ in the package, found from this source file's location.
    static let unitDirectory: String = {
        let file = #filePath
        let tests = file[..<file.firstRange(of: "/Tests/")!.lowerBound]
        return String(tests) + "/systemd"
    }()

    /// Copies the units with ExecStart pointing at the built binary, since verify checks that it exists.
    func stagedUnits() throws -> TemporaryDirectory {
        let directory = try TemporaryDirectory()
        let daemon = try BuiltProducts.path("outpostd")
        let coordinator = try BuiltProducts.path("outpost-coordinator")
        for unit in ["outpostd.service", "outpostd.socket", "outpost-coordinator.service"] {
            let text = try readFile(Self.unitDirectory + "/" + unit)
            try writeFile(
                directory.file(unit),
                text.replacing("/usr/local/bin/outpost-coordinator", with: coordinator)
                    .replacing("/usr/local/bin/outpostd", with: daemon)
            )
        }
        return directory
    }

    func run(_ arguments: [String], in directory: TemporaryDirectory) throws -> ChildProcess {
        let process = try ChildProcess(
            "/usr/bin/systemd-analyze",
            arguments,
            environment: ["PATH": "/usr/bin:/bin", "SYSTEMD_LOG_LEVEL": "notice"],
            directory: directory
        )
        _ = try process.waitForExit(timeout: .seconds(60))
        return process
    }

    @Test("systemd-analyze verify is clean")
    func verify() throws {
        let directory = try stagedUnits()
        let process = try run(
            [
                "verify", directory.file("outpostd.service"), directory.file("outpostd.socket"),
                directory.file("outpost-coordinator.service"),
            ],
            in: directory
        )
        #expect(try process.waitForExit(timeout: .seconds(1)) == 0, "\(process.standardError)")
        #expect(process.standardError.isEmpty, "\(process.standardError)")
    }

    @Test("systemd-analyze --user verify is clean for the user server's unit")
    func verifyUserUnit() throws {
        let directory = try TemporaryDirectory()
        let runtime = directory.file("run")
        mkdir(runtime, 0o700)
        let text = try readFile(Self.unitDirectory + "/user/outpostd.service")
        try writeFile(
            directory.file("outpostd.service"),
            text.replacing("/usr/local/bin/outpostd", with: try BuiltProducts.path("outpostd"))
        )
        // A user manager's verify needs a runtime directory, as a login session has.
        let process = try ChildProcess(
            "/usr/bin/systemd-analyze",
            ["--user", "verify", directory.file("outpostd.service")],
            environment: ["PATH": "/usr/bin:/bin", "SYSTEMD_LOG_LEVEL": "notice", "XDG_RUNTIME_DIR": runtime],
            directory: directory
        )
        #expect(try process.waitForExit(timeout: .seconds(60)) == 0, "\(process.standardError)")
        #expect(process.standardError.isEmpty, "\(process.standardError)")
    }

    /// outpostd's limit is higher: it keeps CAP_SETUID and CAP_SETGID and a writable /home, which acting as each
    /// caller needs (with ProtectHome=read-only, ReadWritePaths= does not make homes writable again; measured under
    /// systemd 252 by .ci/system-container). That buys the kernel's own permission checks for every request.
    static let exposureLimits = ["outpostd.service": 2.2, "outpost-coordinator.service": 2.0]

    @Test(
        "systemd-analyze security --offline=true: exposure within each unit's limit",
        arguments: ["outpostd.service", "outpost-coordinator.service"]
    )
    func security(_ unit: String) throws {
        let directory = try stagedUnits()
        let process = try run(["security", "--offline=true", directory.file(unit)], in: directory)
        let output = process.standardOutput + process.standardError
        guard let range = output.firstRange(of: "Overall exposure level for \(unit): ") else {
            Issue.record("no exposure figure in: \(output)")
            return
        }
        let figure = Double(output[range.upperBound...].prefix { $0 == "." || $0.isNumber }) ?? 99
        #expect(figure <= Self.exposureLimits[unit, default: 2.0], "exposure \(figure)")
    }
}
