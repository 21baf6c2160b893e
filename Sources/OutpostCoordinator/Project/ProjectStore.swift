import GRDB
import OutpostCore
import OutpostCrypto
import OutpostRPC
import OutpostService

#if canImport(Glibc)
import Glibc
#endif

/// The coordinator as a BOINC project: its files, apps, accounts, jobs and results, in the registry database.
///
/// Admin operations (`ProjectStore+Catalog`), the scheduler (`ProjectStore+Scheduler`) and uploads
/// (`ProjectStore+Uploads`) each change the tables in one transaction, so a crash at any moment leaves every job
/// either queued, in progress with a deadline, or ended exactly once.
public final class ProjectStore: Sendable {
    let pool: DatabasePool
    public let settings: ProjectSettings
    public let directories: ProjectDirectories
    let signingKey: CodeSigningKey
    let uploadCertificate: UploadCertificate
    let clock: @Sendable () -> Double

    public init(
        registry: ClientRegistry,
        settings: ProjectSettings,
        directories: ProjectDirectories,
        clock: @escaping @Sendable () -> Double = WallClock.seconds
    ) throws {
        pool = registry.pool
        self.settings = settings
        self.directories = directories
        self.clock = clock
        for directory in [directories.root, directories.download, directories.upload, directories.staging] {
            guard mkdir(directory, 0o750) == 0 || errno == EEXIST else {
                throw RegistryError(.conflict, "cannot make \(directory): \(String(cString: strerror(errno)))")
            }
        }
        signingKey = try CodeSigningKeyFile.loadOrCreate(directories.signingKey)
        uploadCertificate = try UploadCertificate.loadOrCreate(directories.uploadKey)
    }

    /// The project's public code-signing key, in BOINC's text form (sent to clients, which trust it on first use).
    public var publicKeyText: String { signingKey.publicKeyText }

    func now() -> Double { clock() }

    static func json(_ value: JSONValue) -> String { JSONCoding.serializeToString(value) }

    static func parseJSON(_ text: String?) -> JSONValue {
        guard let text, let value = try? JSONCoding.parse(Array(text.utf8)) else { return .null }
        return value
    }
}

/// The project's code-signing key file: made on first start (the private key's DER in hex, mode 0600), then reused
/// so clients that trusted the key on first use keep trusting it.
enum CodeSigningKeyFile {
    static func loadOrCreate(_ path: String) throws -> CodeSigningKey {
        if let bytes = SmallFile.read(path, limit: 64 * 1024) {
            let text = String(decoding: bytes, as: UTF8.self).filter { !$0.isWhitespace }
            guard let der = Hex.decode(text), let key = try? CodeSigningKey(privateKeyDER: der) else {
                throw RegistryError(.conflict, "\(path) does not hold a code-signing key; move it away to make one")
            }
            return key
        }
        let key = CodeSigningKey.generate()
        try StateDirectory.writeAtomically(path, contents: Hex.encode(key.privateKeyDER) + "\n", mode: 0o600)
        return key
    }
}
