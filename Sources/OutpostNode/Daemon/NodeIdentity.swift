import FoundationEssentials

#if canImport(Glibc)
import Glibc
import OutpostService
#endif

/// The node's permanent identity: a UUID made on first start and kept in the state directory, so the coordinator
/// knows a machine again after restarts, reinstalls of the binary and host renames.
public struct NodeIdentity: Sendable, Equatable {
    public let nodeID: String

    static let fileName = "node-id"

    /// Reads the identity from `stateDirectory`, creating the directory and the identity if they do not exist yet.
    public static func loadOrCreate(stateDirectory: String) throws(StateDirectoryError) -> NodeIdentity {
        try StateDirectory.prepare(stateDirectory)
        let path = stateDirectory + "/" + fileName
        if let text = try StateDirectory.readSmallFile(path) {
            let trimmed = String(text.split(whereSeparator: \.isWhitespace).first ?? "")
            guard let uuid = UUID(uuidString: trimmed) else {
                throw StateDirectoryError(
                    path: path,
                    message: "does not hold a node id (a UUID); restore it or remove it to make a new identity"
                )
            }
            return NodeIdentity(nodeID: uuid.uuidString.lowercased())
        }
        let identity = NodeIdentity(nodeID: UUID().uuidString.lowercased())
        try StateDirectory.writeAtomically(path, contents: identity.nodeID + "\n", mode: 0o644)
        return identity
    }
}
