/// One element of a BOINC XML document: its name, its raw attribute text, its decoded text and its children.
///
/// BOINC's own parser (`lib/parse.cpp`) is a tag-and-text tokenizer, so the model stays as plain: attributes are kept
/// as the raw string (BOINC reads them with `strstr`), text is stripped at both ends as BOINC does, and `rawContent`
/// keeps the bytes between the tags for the elements BOINC copies verbatim (`code_sign_key`, `global_preferences`).
public struct XMLElement: Sendable, Equatable {
    public var name: String
    public var attributes: String
    /// The element's own text (outside its children), entities decoded, CDATA kept raw, whitespace stripped.
    public var text: String
    public var children: [XMLElement]
    /// The exact bytes between the start and end tag, undecoded.
    public var rawContent: String

    public init(
        name: String,
        attributes: String = "",
        text: String = "",
        children: [XMLElement] = [],
        rawContent: String = ""
    ) {
        self.name = name
        self.attributes = attributes
        self.text = text
        self.children = children
        self.rawContent = rawContent
    }

    /// The first child named `name`.
    public func child(_ name: String) -> XMLElement? {
        children.first { $0.name == name }
    }

    /// Every child named `name`, in document order.
    public func children(_ name: String) -> [XMLElement] {
        children.filter { $0.name == name }
    }

    /// The value of `name="…"` (or `name='…'`) in the raw attribute text, as BOINC's `parse_attr` finds it.
    public func attribute(_ name: String) -> String? {
        for quote in ["\"", "'"] {
            guard let start = attributes.firstRange(of: "\(name)=\(quote)") else { continue }
            let rest = attributes[start.upperBound...]
            guard let end = rest.firstIndex(of: Character(quote)) else { return nil }
            return String(rest[..<end])
        }
        return nil
    }
}
