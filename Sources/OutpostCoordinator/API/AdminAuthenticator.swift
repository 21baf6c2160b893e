import HTTPTypes
import Hummingbird
import OutpostCrypto

/// Checks an admin: a TLS client certificate verified against `[tls] admin_ca`, or the API key
/// (`Authorization: Bearer KEY`), compared in time independent of where a guess goes wrong.
struct AdminAuthenticator: Sendable {
    private let keyDigest: [UInt8]
    /// The admin user the key acts as.
    let userID: String

    init(key: String, userID: String) {
        keyDigest = MessageDigest.hash(.sha256, key.utf8)
        self.userID = userID
    }

    func authenticate(_ request: Request, _ context: CoordinatorRequestContext) async throws(RegistryError) {
        do throws(RegistryError) {
            try checkKey(request)
        } catch {
            guard await context.hasAdminCertificate else { throw error }
        }
    }

    private func checkKey(_ request: Request) throws(RegistryError) {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else {
            throw RegistryError(
                .unauthorized,
                "the admin API needs 'Authorization: Bearer <API key>' or an admin client certificate"
            )
        }
        let presented = MessageDigest.hash(.sha256, header.dropFirst("Bearer ".count).utf8)
        guard SecretBytes.equal(presented, keyDigest) else {
            throw RegistryError(.unauthorized, "wrong API key")
        }
    }
}
