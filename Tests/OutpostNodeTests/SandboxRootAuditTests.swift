import Testing

@testable import OutpostNode

#if canImport(Glibc)
import Glibc
#endif

@Suite("sandbox root audit")
struct SandboxRootAuditTests {
    let directory = makeTemporaryDirectory()

    @Test("a missing root and a file named as a root are found, with what to do; usable roots and false are not")
    func findings() throws {
        mkdir(directory + "/fine", 0o755)
        let file = directory + "/plain-file"
        close(open(file, O_CREAT | O_WRONLY, 0o644))
        let findings = SandboxRootAudit.findings(in: [
            "": ["home": directory + "/missing/%u"],
            "alice": ["data": directory + "/fine", "notes": file],
            "root": nil,
        ])
        #expect(
            findings.map { "\($0.userName) \($0.rootName) \($0.path)" } == [
                " home \(directory)/missing", "alice notes \(file)",
            ]
        )
        #expect(findings[0].problem == .missing)
        #expect(findings[0].description.contains("the system sandbox") && findings[0].description.contains("create"))
        #expect(findings[1].problem == .notADirectory)
        #expect(findings[1].description.contains("user alice"))
    }

    @Test("a read-only root names the unit setting that makes it writable")
    func readOnlyRemedy() {
        let finding = SandboxRootAudit.Finding(
            userName: "",
            rootName: "proj",
            path: "/opt/projects",
            problem: .readOnly
        )
        #expect(finding.description.contains("systemctl edit outpostd"))
        #expect(finding.description.contains("ReadWritePaths=/opt/projects"))
    }

    @Test("a root that names its user is checked up to the directory before %u")
    func fixedPart() {
        #expect(SandboxRootAudit.fixedPart(of: "/home/%u") == "/home")
        #expect(SandboxRootAudit.fixedPart(of: "/srv/%u-data/work") == "/srv")
        #expect(SandboxRootAudit.fixedPart(of: "/%u") == "/")
        #expect(SandboxRootAudit.fixedPart(of: "/srv/shared") == "/srv/shared")
    }
}
