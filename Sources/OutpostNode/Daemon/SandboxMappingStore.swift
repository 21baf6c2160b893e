import OutpostRPC
import OutpostService
import Synchronization

/// The sandbox mappings in force, kept in `sandbox-mappings.json` in the state directory so that mappings set through
/// the API survive restarts.
///
/// The configuration's `[sandbox]` only seeds the file on first start; from then on the file is authoritative and
/// changes go through `setSandboxMapping` / `deleteSandboxMapping` (a reload says so when the two differ).
public final class SandboxMappingStore: Sendable {
    /// user name ("" = the system sandbox) → named roots, or nil for "not sandboxed".
    public typealias Mappings = [String: [String: String]?]

    private let path: String
    private let mappings: Mutex<Mappings>

    static let fileName = "sandbox-mappings.json"

    /// Loads the file, or creates it from `initial` when it does not exist yet.
    public init(stateDirectory: String, initial: Mappings) throws(StateDirectoryError) {
        path = stateDirectory + "/" + Self.fileName
        if let text = try StateDirectory.readSmallFile(path, limit: 4 << 20) {
            guard let value = try? JSONCoding.parse(Array(text.utf8)), let parsed = Self.mappings(from: value) else {
                throw StateDirectoryError(path: path, message: "is not a valid sandbox-mapping file; fix or remove it")
            }
            mappings = Mutex(parsed)
        } else {
            mappings = Mutex(initial)
            try StateDirectory.writeAtomically(
                path,
                contents: JSONCoding.serializeToString(Self.json(initial)),
                mode: 0o600
            )
        }
    }

    public var current: Mappings { mappings.withLock { $0 } }

    /// Replaces (or, with nil, deletes) one user's mapping and writes the file before the change is visible.
    func update(userName: String, to mapping: [String: String]??) throws(StateDirectoryError) {
        var updated = current
        if let mapping {
            updated[userName] = mapping
        } else {
            updated.removeValue(forKey: userName)
        }
        try StateDirectory.writeAtomically(
            path,
            contents: JSONCoding.serializeToString(Self.json(updated)),
            mode: 0o600
        )
        mappings.withLock { $0 = updated }
    }

    static func json(_ mappings: Mappings) -> JSONValue {
        .object(mappings.mapValues { roots in roots.map { .object($0.mapValues(JSONValue.string)) } ?? .bool(false) })
    }

    /// Reads `{user: {name: path} | false}`; nil if the shape is wrong.
    static func mappings(from value: JSONValue) -> Mappings? {
        guard case .object(let users) = value else { return nil }
        var result: Mappings = [:]
        for (user, roots) in users {
            switch roots {
            case .bool(false): result[user] = .some(nil)
            case .object(let named):
                var paths: [String: String] = [:]
                for (name, path) in named {
                    guard let text = path.stringValue else { return nil }
                    paths[name] = text
                }
                result[user] = .some(paths)
            default: return nil
            }
        }
        return result
    }
}
