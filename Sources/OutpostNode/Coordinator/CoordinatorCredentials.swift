import OutpostRPC
import OutpostService

/// What enrollment gave this node: its client id and secret, for the coordinator at `url`. Kept in
/// `<state>/coordinator.json` with mode 0600, the only copy of the secret (the coordinator keeps a hash).
struct CoordinatorCredentials: Sendable, Equatable {
    var url: String
    var clientID: String
    var secret: String

    static let fileName = "coordinator.json"
    /// An enrollment token set with `setLicenseKeyAsync`; it wins over `enrollment_token_file`.
    static let tokenFileName = "enrollment.token"

    static func load(stateDirectory: String) throws(StateDirectoryError) -> CoordinatorCredentials? {
        let path = stateDirectory + "/" + fileName
        guard let text = try StateDirectory.readSmallFile(path) else { return nil }
        guard let json = try? JSONCoding.parse(Array(text.utf8)), let url = json["url"]?.stringValue,
            let id = json["clientId"]?.stringValue, let secret = json["secret"]?.stringValue
        else {
            throw StateDirectoryError(
                path: path,
                message: "is not the credentials file outpostd writes; remove it to enroll again"
            )
        }
        return CoordinatorCredentials(url: url, clientID: id, secret: secret)
    }

    func save(stateDirectory: String) throws(StateDirectoryError) {
        let json: JSONValue = ["url": .string(url), "clientId": .string(clientID), "secret": .string(secret)]
        try StateDirectory.writeAtomically(
            stateDirectory + "/" + Self.fileName,
            contents: JSONCoding.serializeToString(json) + "\n",
            mode: 0o600
        )
    }

    static func remove(stateDirectory: String) {
        StateDirectory.remove(stateDirectory + "/" + fileName)
    }
}
