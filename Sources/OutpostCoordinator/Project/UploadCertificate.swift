import OutpostCore
import OutpostCrypto
import OutpostScheduler
import OutpostService

/// BOINC's upload certificates: each output the scheduler hands out carries, in its `<file_info>`, an
/// `<xml_signature>` over `<name>NAME</name><max_nbytes>N</max_nbytes>` (the text BOINC's own upload handler checks),
/// and the client sends it back in the header of the upload. Only the host that was given the result has it, so no
/// one else can write or truncate that output, and the size limit it names cannot be raised.
///
/// BOINC signs with an RSA key so that upload servers on other machines need only the public half. Here the
/// scheduler and the upload handler are the same program, so the signature is an HMAC-SHA256 under a secret key kept
/// in the project's directory (mode 0600): the same protection, and a BOINC client treats the text as opaque either
/// way (it stores and echoes it).
struct UploadCertificate: Sendable {
    private let key: [UInt8]

    init(key: [UInt8]) {
        self.key = key
    }

    /// The key at `path`, made (32 random bytes, hex, mode 0600) when there is none.
    static func loadOrCreate(_ path: String) throws -> UploadCertificate {
        if let bytes = SmallFile.read(path, limit: 4096) {
            let text = String(decoding: bytes, as: UTF8.self).filter { !$0.isWhitespace }
            guard let key = Hex.decode(text), key.count >= 32 else {
                throw RegistryError(.conflict, "\(path) does not hold an upload key; move it away to make one")
            }
            return UploadCertificate(key: key)
        }
        let key = SecretBytes.random(count: 32)
        try StateDirectory.writeAtomically(path, contents: Hex.encode(key) + "\n", mode: 0o600)
        return UploadCertificate(key: key)
    }

    /// The certificate for an output named `name` of at most `maxNbytes` bytes.
    func signature(name: String, maxNbytes: Double) -> String {
        Hex.encode(MessageAuthentication.sha256(key: key, message: Self.signedText(name: name, maxNbytes: maxNbytes)))
    }

    /// Whether `upload` carries the certificate the scheduler made for its name and size limit.
    func verifies(_ upload: DataServerRequest.Upload) -> Bool {
        guard upload.maxNbytes >= 0, let presented = Hex.decode(upload.xmlSignature.lowercased()) else { return false }
        let expected = MessageAuthentication.sha256(
            key: key,
            message: Self.signedText(name: upload.name, maxNbytes: upload.maxNbytes)
        )
        return SecretBytes.equal(presented, expected)
    }

    /// As BOINC's `file_upload_handler` builds it, with `max_nbytes` printed as `%.0f` prints it.
    static func signedText(name: String, maxNbytes: Double) -> [UInt8] {
        Array("<name>\(name)</name><max_nbytes>\(XMLWriter.number(maxNbytes.rounded()))</max_nbytes>".utf8)
    }
}
