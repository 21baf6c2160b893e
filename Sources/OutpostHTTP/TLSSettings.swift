import NIOSSL

/// A server's TLS (the coordinator's, and outpostd's remote listener): its certificate chain and key from PEM files, TLS 1.2 at least. With an admin CA, a client
/// may present a certificate: one that chains to that CA authenticates an admin (the handshake fails for any other),
/// and clients without one (nodes, BOINC clients) connect as before.
public enum TLSSettings {
    public static func server(certificate: String, key: String, adminCA: String? = nil) throws -> TLSConfiguration {
        let chain = try NIOSSLCertificate.fromPEMFile(certificate).map { NIOSSLCertificateSource.certificate($0) }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain,
            privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
        )
        configuration.minimumTLSVersion = .tlsv12
        if let adminCA {
            configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(adminCA))
            configuration.certificateVerification = .optionalVerification
        }
        return configuration
    }
}
