/// The roots one user may reach, by name: what a sandbox mapping gives after `%u` is expanded.
///
/// Paths in the file API are `name:relative/path`; a path without a `name:` prefix belongs to the blank root.
/// `unrestricted` (a mapping of `false`) makes the blank root `/` and allows any absolute path.
public enum SandboxRoots: Sendable, Equatable {
    case unrestricted
    case roots([String: String])

    /// The roots of `mapping` for `userName`: `%u` in a root path becomes the user name.
    public init(mapping: [String: String], userName: String) {
        self = .roots(mapping.mapValues { $0.replacing("%u", with: userName) })
    }

    /// Every root the caller may use, as `(name, absolute path)`, sorted by name.
    public var listing: [(name: String, path: String)] {
        switch self {
        case .unrestricted: [("", "/")]
        case .roots(let roots): roots.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        }
    }
}

/// A path as the caller wrote it, split into the root it names and the part below that root.
public struct SandboxPath: Sendable, Equatable, CustomStringConvertible {
    /// The caller's text, used in every message about this path.
    public let text: String
    public let rootName: String
    /// Relative to the root, without leading slashes; "" is the root itself.
    public let relative: String

    /// Splits `text` and rejects what can never be a valid path: NUL bytes and names over 255 bytes.
    public init(_ text: String) throws(FileOperationError) {
        self.text = text
        guard !text.utf8.contains(0) else {
            throw FileOperationError(
                .invalidPath,
                path: text.replacing("\u{0}", with: "\\0"),
                message: "path contains a NUL byte"
            )
        }
        let body: Substring
        if let colon = text.firstIndex(of: ":"), !text[..<colon].contains("/") {
            rootName = String(text[..<colon])
            body = text[text.index(after: colon)...]
        } else {
            rootName = ""
            body = text[...]
        }
        relative = String(body.drop { $0 == "/" })
        for component in relative.split(separator: "/") where FileName.bytes(component).count > 255 {
            throw FileOperationError(
                .invalidPath,
                path: text,
                message: "\(text): a name is longer than 255 bytes",
                errno: nil
            )
        }
    }

    public var description: String { text }
}
