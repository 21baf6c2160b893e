import OutpostService
import Testing

@testable import OutpostCoordinator

@Suite("coordinator.toml")
struct CoordinatorConfigurationTests {
    @Test("the shipped file documents the defaults")
    func shippedFile() throws {
        let file = #filePath
        let root = String(file[..<file.firstRange(of: "/Tests/")!.lowerBound])
        let path = root + "/etc/outpost/coordinator.toml"
        let parsed = try CoordinatorConfigurationLoader.parse(text: try ConfigurationFile.read(path), file: path)
        #expect(parsed == CoordinatorConfiguration())
    }

    @Test(
        "beyond loopback only with TLS; unknown keys and bad values are refused",
        arguments: [
            ("[coordinator]\nlisten = \"0.0.0.0:8470\"", "beyond loopback"),
            ("[coordinator]\nlisten = \"[::]:8470\"", "beyond loopback"),
            ("[coordinator]\nlisten = \"8470\"", "HOST:PORT"),
            ("[coordinator]\noffline_grase = 10", "offline_grase"),
            ("[coordinator]\ncheckin_interval = 0", "checkin_interval"),
            ("[tls]\ncertificate = \"/etc/c.pem\"", "both certificate and key"),
        ]
    )
    func refused(_ text: String, _ expected: String) {
        #expect {
            _ = try CoordinatorConfigurationLoader.parse(text: text, file: "c.toml")
        } throws: { error in
            "\(error)".contains(expected)
        }
    }

    @Test("IPv6 loopback and TLS beyond loopback are accepted")
    func accepted() throws {
        let v6 = try CoordinatorConfigurationLoader.parse(text: "[coordinator]\nlisten = \"[::1]:9000\"", file: "c")
        #expect(v6.listenHost == "::1" && v6.listenPort == 9000 && v6.url == "http://[::1]:9000")
        let tls = try CoordinatorConfigurationLoader.parse(
            text: "[coordinator]\nlisten = \"0.0.0.0:443\"\n[tls]\ncertificate = \"/c.pem\"\nkey = \"/k.pem\"",
            file: "c"
        )
        #expect(tls.url == "https://127.0.0.1:443")
    }
}
