import OutpostCheckin
import OutpostService
import Testing

@testable import OutpostNode

#if canImport(Glibc)
import Glibc
#endif

@Suite("coordinator credentials and metrics")
struct CoordinatorCredentialsTests {
    func temporaryDirectory() -> String {
        var template = Array("/tmp/outpost-credentials-XXXXXX".utf8CString)
        return template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
    }

    @Test("credentials round-trip with mode 0600; a damaged file is an error that says what to do")
    func credentials() throws {
        let directory = temporaryDirectory()
        defer { _ = system("rm -rf '\(directory)'") }
        #expect(try CoordinatorCredentials.load(stateDirectory: directory) == nil)
        let saved = CoordinatorCredentials(url: "http://127.0.0.1:8470", clientID: "abc", secret: "s3cret")
        try saved.save(stateDirectory: directory)
        #expect(StateDirectory.permissions(of: directory + "/coordinator.json") == 0o600)
        #expect(try CoordinatorCredentials.load(stateDirectory: directory) == saved)

        try StateDirectory.writeAtomically(directory + "/coordinator.json", contents: "{\"url\": 1", mode: 0o600)
        #expect {
            _ = try CoordinatorCredentials.load(stateDirectory: directory)
        } throws: { error in
            "\(error)".contains("remove it to enroll again")
        }
    }

    @Test("metrics are read from /proc and are in range")
    func metrics() {
        var sampler = SystemMetrics()
        _ = sampler.sample()
        let metrics = sampler.sample()
        #expect(metrics.cores >= 1)
        #expect((0...100).contains(metrics.cpuLoadPercent) && (0...100).contains(metrics.memoryUsedPercent))
        #expect(metrics.physicalTotal > 0 && metrics.physicalFree <= metrics.physicalTotal)
        #expect(metrics.swapFree <= metrics.swapTotal)
    }

    @Test("host_id lists only interfaces backed by a device, upper case, sorted")
    func hostID() throws {
        let sysfs = temporaryDirectory()
        defer { _ = system("rm -rf '\(sysfs)'") }
        for (name, address, device) in [
            ("lo", "00:00:00:00:00:00", false), ("eth1", "de:a1:48:f1:01:22", true),
            ("eth0", "12:00:7c:18:f1:11", true), ("veth9", "aa:bb:cc:dd:ee:ff", false),
        ] {
            mkdir(sysfs + "/" + name, 0o755)
            try StateDirectory.writeAtomically(sysfs + "/\(name)/address", contents: address + "\n", mode: 0o644)
            if device { mkdir(sysfs + "/\(name)/device", 0o755) }
        }
        #expect(HostInterfaces.hostID(sysfs: sysfs) == "12:00:7C:18:F1:11, DE:A1:48:F1:01:22")
    }
}
