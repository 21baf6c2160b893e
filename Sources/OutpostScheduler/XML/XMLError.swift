/// Why a document was refused: untrusted XML from a server or a client fails with one of these, never with a crash.
public struct XMLError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: Sendable, Equatable {
        /// Larger than the reader accepts.
        case tooLarge
        /// Nested deeper than the reader accepts.
        case tooDeep
        /// A `<!DOCTYPE` or `<!ENTITY` declaration: refused before parsing (entity expansion, external entities).
        case declaration
        /// Not well-formed: an unclosed tag, a mismatched end tag, text after the root.
        case malformed
        /// Well-formed, but a value is wrong for its element (a number that is not one, a missing root).
        case invalidValue
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
