import OutpostService
import Testing

@testable import OutpostCoordinator

#if canImport(Glibc)
import Glibc
#endif

@Suite("admin key file")
struct AdminKeyFileTests {
    @Test("made 0600 on first start, read back, and refused when others could read it or it is too short")
    func keyFile() throws {
        var template = Array("/tmp/outpost-key-XXXXXX".utf8CString)
        let directory = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
        defer { _ = system("rm -rf '\(directory)'") }
        let path = directory + "/admin.key"
        let (key, created) = try AdminKeyFile.loadOrCreate(path)
        #expect(created && key.count == 64)
        var status = stat()
        stat(path, &status)
        #expect(status.st_mode & 0o777 == 0o600)
        #expect(try AdminKeyFile.loadOrCreate(path) == (key, false))

        chmod(path, 0o644)
        #expect {
            _ = try AdminKeyFile.load(path)
        } throws: { error in
            "\(error)".contains("readable by others") && "\(error)".contains("chmod 600")
        }
        try StateDirectory.writeAtomically(path, contents: "short\n", mode: 0o600)
        #expect(throws: StateDirectoryError.self) { _ = try AdminKeyFile.load(path) }
        #expect(throws: StateDirectoryError.self) { _ = try AdminKeyFile.load(directory + "/missing.key") }
    }
}
