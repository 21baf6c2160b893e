#if canImport(Glibc)
import Glibc
#endif

/// A CA, a server certificate for 127.0.0.1, an admin CA with one admin certificate, and a rogue certificate.
struct TestCertificates {
    let directory: TemporaryDirectory
    var path: (String) -> String { { directory.file($0) } }

    init() throws {
        directory = try TemporaryDirectory()
        try writeFile(directory.file("server.ext"), "subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\n")
        try writeFile(directory.file("client.ext"), "extendedKeyUsage=clientAuth\n")
        for ca in ["ca", "admin-ca", "rogue-ca"] {
            try openssl(
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-keyout",
                path("\(ca).key"),
                "-out",
                path("\(ca).pem"),
                "-days",
                "2",
                "-subj",
                "/CN=outpost test \(ca)"
            )
        }
        try issue("server", by: "ca", extensions: "server.ext")
        try issue("admin", by: "admin-ca", extensions: "client.ext")
        try issue("rogue", by: "rogue-ca", extensions: "client.ext")
    }

    private func issue(_ name: String, by ca: String, extensions: String) throws {
        try openssl(
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            path("\(name).key"),
            "-out",
            path("\(name).csr"),
            "-subj",
            "/CN=\(name == "server" ? "127.0.0.1" : name)"
        )
        try openssl(
            "x509",
            "-req",
            "-in",
            path("\(name).csr"),
            "-CA",
            path("\(ca).pem"),
            "-CAkey",
            path("\(ca).key"),
            "-CAcreateserial",
            "-out",
            path("\(name).pem"),
            "-days",
            "2",
            "-extfile",
            path(extensions)
        )
    }

    private func openssl(_ arguments: String...) throws {
        let child = try ChildProcess(
            "/usr/bin/openssl",
            arguments,
            environment: ["PATH": "/usr/bin:/bin"],
            directory: directory
        )
        let status = try child.waitForExit(timeout: .seconds(30))
        guard status == 0 else { throw TestFailure("openssl \(arguments) failed: \(child.standardError)") }
    }
}
