import OutpostRPC
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The coordinator over TLS with certificates made by `openssl` here: nodes enroll and check in over https trusting
/// its CA, admins authenticate with the API key or with a client certificate from the admin CA, and a certificate
/// from any other CA, plain http and an untrusted server are all refused.
@Suite("coordinator over TLS (real binaries, openssl certificates)", .serialized)
struct CoordinatorTLSTests {
    @Test func nodesAndAdminsUseTLSAndOnlyTrustedCertificatesGetIn() throws {
        let certificates = try TestCertificates()
        let files = certificates.path
        let coordinator = try Coordinator(
            extra: """
                [tls]
                certificate = "\(files("server.pem"))"
                key = "\(files("server.key"))"
                admin_ca = "\(files("admin-ca.pem"))"
                """,
            start: false
        )
        coordinator.caFile = files("ca.pem")
        try coordinator.start()

        // A node trusting the coordinator's CA enrolls and checks in over https.
        let (_, tokenFile) = try coordinator.token()
        let daemon = try Daemon(
            config: """
                [coordinator]
                url = "\(coordinator.url)"
                ca_file = "\(files("ca.pem"))"
                checkin_interval = 1
                enrollment_token_file = "\(tokenFile)"
                [scheduler]
                enabled = false
                """
        )
        #expect(try eventually(timeout: .seconds(30)) { try coordinator.find("Client where type=1").count == 1 })

        // One that trusts only the system's CAs cannot: the server's certificate is not from them.
        let (_, otherToken) = try coordinator.token()
        let untrusting = try Daemon(
            config: """
                [coordinator]
                url = "\(coordinator.url)"
                checkin_interval = 1
                enrollment_token_file = "\(otherToken)"
                [scheduler]
                enabled = false
                """
        )
        usleep(3_000_000)
        #expect(try coordinator.find("Client where type=1").count == 1)

        // Admins: the API key works over TLS; so does an admin certificate without any key.
        let noKey = ["--api-key-file", "/nonexistent/key"]
        let admin = ["--client-certificate", files("admin.pem"), "--client-key", files("admin.key")]
        let rogue = ["--client-certificate", files("rogue.pem"), "--client-key", files("rogue.key")]
        #expect(try coordinator.cli(["clients", "find", "Client", "--json"]).status == 0)
        let byCertificate = try coordinator.cli(["clients", "find", "Client where type=1", "--json"] + noKey + admin)
        #expect(byCertificate.status == 0, "\(byCertificate.error)")
        #expect(byCertificate.output.contains("\"type\":1") || byCertificate.output.contains("\"type\": 1"))
        // A certificate from another CA fails the handshake; no certificate and no key is refused.
        #expect(try coordinator.cli(["clients", "find", "Client"] + noKey + rogue).status != 0)
        try writeFile(certificates.directory.file("wrong.key"), String(repeating: "ab", count: 32) + "\n", mode: 0o600)
        let wrongKey = try coordinator.cli(["clients", "find", "Client", "--api-key-file", files("wrong.key")])
        #expect(wrongKey.status == 77, "\(wrongKey.error)")
        // Plain http to the TLS port gets nowhere.
        let plain = try coordinator.cli(["clients", "find", "Client", "--url", "http://127.0.0.1:\(coordinator.port)"])
        #expect(plain.status != 0)

        #expect(try untrusting.stop() == 0)
        #expect(try daemon.stop() == 0)
        try coordinator.stop()
    }
}
