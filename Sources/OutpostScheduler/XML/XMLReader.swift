/// Reads untrusted BOINC XML (a scheduler request or reply, a data-server message) into an `XMLElement` tree.
///
/// Why our own reader rather than FoundationXML: FoundationXML links libxml2 and full Foundation (ICU, ~6 MB more
/// resident, measured on Linux), and it would be stricter than BOINC in ways real servers rely on. This reader follows
/// BOINC's tokenizer (`lib/parse.cpp`) where it is lenient — text before the root is skipped, text is stripped, CDATA is
/// kept raw, `<flag/>` is an element — and is safe where BOINC is not:
/// - any `<!DOCTYPE`, `<!ENTITY` or other declaration is refused before it could mean anything (no entity expansion,
///   no external entities);
/// - size and nesting depth are capped (`Limits`), and nesting uses an explicit stack, never recursion;
/// - a mismatched or missing end tag is an error, never a silently shortened document.
public struct XMLReader: Sendable {
    public struct Limits: Sendable {
        public var maximumBytes: Int
        public var maximumDepth: Int

        public init(maximumBytes: Int = 16 << 20, maximumDepth: Int = 32) {
            self.maximumBytes = maximumBytes
            self.maximumDepth = maximumDepth
        }
    }

    public let limits: Limits

    public init(limits: Limits = Limits()) {
        self.limits = limits
    }

    public func read(_ text: String) throws(XMLError) -> XMLElement {
        try read(Array(text.utf8))
    }

    public func read(_ bytes: [UInt8]) throws(XMLError) -> XMLElement {
        guard bytes.count <= limits.maximumBytes else {
            throw XMLError(.tooLarge, "the document is \(bytes.count) bytes; at most \(limits.maximumBytes) are read")
        }
        return try bytes.withUnsafeBufferPointer { (buffer) throws(XMLError) -> XMLElement in
            var tokenizer = Tokenizer(bytes: buffer, maximumDepth: limits.maximumDepth)
            return try tokenizer.document()
        }
    }
}

/// The state of one read: a cursor over the bytes and the stack of open elements.
private struct Tokenizer {
    private struct Open {
        var element: XMLElement
        var text: [UInt8] = []
        var contentStart: Int
    }

    let bytes: UnsafeBufferPointer<UInt8>
    let maximumDepth: Int
    var position = 0

    init(bytes: UnsafeBufferPointer<UInt8>, maximumDepth: Int) {
        self.bytes = bytes
        self.maximumDepth = maximumDepth
    }

    mutating func document() throws(XMLError) -> XMLElement {
        var stack: [Open] = []
        while position < bytes.count {
            guard bytes[position] == UInt8(ascii: "<") else {
                let start = position
                while position < bytes.count && bytes[position] != UInt8(ascii: "<") { position += 1 }
                // Text before the root is skipped, as BOINC does; inside an element it is content.
                if !stack.isEmpty { stack[stack.count - 1].text.append(contentsOf: bytes[start..<position]) }
                continue
            }
            if matches("<!--") {
                try skip(past: "-->", what: "comment")
            } else if matches("<![CDATA[") {
                let start = position + 9
                try skip(past: "]]>", what: "CDATA section")
                if !stack.isEmpty {
                    stack[stack.count - 1].text.append(contentsOf: [UInt8(ascii: "\u{1}")])
                    stack[stack.count - 1].text.append(contentsOf: bytes[start..<(position - 3)])
                    stack[stack.count - 1].text.append(contentsOf: [UInt8(ascii: "\u{2}")])
                }
            } else if matches("<!") {
                throw XMLError(.declaration, "declarations (<!DOCTYPE, <!ENTITY) are refused, at byte \(position)")
            } else if matches("<?") {
                try skip(past: "?>", what: "processing instruction")
            } else if matches("</") {
                let tagStart = position
                let name = try endTag()
                guard var open = stack.popLast() else {
                    throw XMLError(.malformed, "end tag </\(name)> at byte \(tagStart) closes nothing")
                }
                guard open.element.name == name else {
                    throw XMLError(
                        .malformed,
                        "end tag </\(name)> at byte \(tagStart) does not close <\(open.element.name)>"
                    )
                }
                open.element.rawContent = String(decoding: bytes[open.contentStart..<tagStart], as: UTF8.self)
                open.element.text = Self.decodeText(open.text)
                if stack.isEmpty { return open.element }
                stack[stack.count - 1].element.children.append(open.element)
            } else {
                let tagStart = position
                let (name, attributes, selfClosing) = try startTag()
                if selfClosing {
                    let element = XMLElement(name: name, attributes: attributes)
                    if stack.isEmpty { return element }
                    stack[stack.count - 1].element.children.append(element)
                } else {
                    guard stack.count < maximumDepth else {
                        throw XMLError(.tooDeep, "elements nest deeper than \(maximumDepth), at byte \(tagStart)")
                    }
                    stack.append(Open(element: XMLElement(name: name, attributes: attributes), contentStart: position))
                }
            }
        }
        if let open = stack.last {
            throw XMLError(.malformed, "the document ends inside <\(open.element.name)> (no end tag)")
        }
        throw XMLError(.malformed, "the document has no root element")
    }

    private func matches(_ prefix: StaticString) -> Bool {
        let count = prefix.utf8CodeUnitCount
        guard position + count <= bytes.count else { return false }
        return prefix.withUTF8Buffer { expected in
            for index in 0..<count where bytes[position + index] != expected[index] { return false }
            return true
        }
    }

    private mutating func skip(past terminator: StaticString, what: String) throws(XMLError) {
        let start = position
        position += 2
        while position < bytes.count {
            if matches(terminator) {
                position += terminator.utf8CodeUnitCount
                return
            }
            position += 1
        }
        throw XMLError(.malformed, "the \(what) at byte \(start) is not closed")
    }

    private static func isNameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: "."),
            UInt8(ascii: ":"):
            true
        default: byte >= 0x80
        }
    }

    private mutating func name(at start: Int) throws(XMLError) -> String {
        while position < bytes.count && Self.isNameByte(bytes[position]) { position += 1 }
        guard position > start else { throw XMLError(.malformed, "a tag at byte \(start - 1) has no name") }
        return String(decoding: bytes[start..<position], as: UTF8.self)
    }

    /// `<name attributes>` or `<name attributes/>`; quoted attribute values may hold `>` and `/`.
    private mutating func startTag() throws(XMLError) -> (String, String, Bool) {
        let tagStart = position
        position += 1
        let name = try name(at: position)
        let attributesStart = position
        var quote: UInt8?
        while position < bytes.count {
            let byte = bytes[position]
            if let open = quote {
                if byte == open { quote = nil }
            } else if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'") {
                quote = byte
            } else if byte == UInt8(ascii: ">") {
                let selfClosing = position > attributesStart && bytes[position - 1] == UInt8(ascii: "/")
                let end = selfClosing ? position - 1 : position
                let attributes = String(decoding: bytes[attributesStart..<end], as: UTF8.self)
                position += 1
                return (name, attributes.trimmingXMLWhitespace(), selfClosing)
            } else if byte == UInt8(ascii: "<") {
                break
            }
            position += 1
        }
        throw XMLError(.malformed, "the tag <\(name) at byte \(tagStart) is not closed")
    }

    private mutating func endTag() throws(XMLError) -> String {
        let tagStart = position
        position += 2
        let name = try name(at: position)
        while position < bytes.count && bytes[position].isXMLWhitespace { position += 1 }
        guard position < bytes.count, bytes[position] == UInt8(ascii: ">") else {
            throw XMLError(.malformed, "the end tag </\(name) at byte \(tagStart) is not closed")
        }
        position += 1
        return name
    }

    /// Decodes the entities BOINC writes (`&lt; &gt; &amp; &quot; &apos;` and numeric references) outside CDATA
    /// (marked by \u{1}…\u{2} while collecting), and strips whitespace at both ends as BOINC does.
    static func decodeText(_ raw: [UInt8]) -> String {
        guard raw.contains(UInt8(ascii: "&")) || raw.contains(1) else {
            return String(decoding: raw, as: UTF8.self).trimmingXMLWhitespace()
        }
        var output: [UInt8] = []
        output.reserveCapacity(raw.count)
        var index = 0
        var inCDATA = false
        while index < raw.count {
            let byte = raw[index]
            if byte == 1 || byte == 2 {
                inCDATA = byte == 1
                index += 1
                continue
            }
            if byte == UInt8(ascii: "&") && !inCDATA,
                let semicolon = raw[index..<min(raw.count, index + 12)].firstIndex(of: UInt8(ascii: ";")),
                let decoded = decodeEntity(raw[(index + 1)..<semicolon])
            {
                output.append(contentsOf: decoded)
                index = semicolon + 1
                continue
            }
            output.append(byte)
            index += 1
        }
        return String(decoding: output, as: UTF8.self).trimmingXMLWhitespace()
    }

    private static func decodeEntity(_ name: ArraySlice<UInt8>) -> [UInt8]? {
        switch String(decoding: name, as: UTF8.self) {
        case "lt": return [UInt8(ascii: "<")]
        case "gt": return [UInt8(ascii: ">")]
        case "amp": return [UInt8(ascii: "&")]
        case "quot": return [UInt8(ascii: "\"")]
        case "apos": return [UInt8(ascii: "'")]
        case let reference where reference.hasPrefix("#"):
            let digits = reference.dropFirst()
            let value =
                digits.hasPrefix("x") || digits.hasPrefix("X")
                ? UInt32(digits.dropFirst(), radix: 16) : UInt32(digits, radix: 10)
            guard let value, value != 0, let scalar = Unicode.Scalar(value) else { return nil }
            return Array(String(Character(scalar)).utf8)
        default: return nil
        }
    }
}

extension UInt8 {
    var isXMLWhitespace: Bool {
        self == 0x20 || self == 0x09 || self == 0x0A || self == 0x0D
    }
}

extension String {
    func trimmingXMLWhitespace() -> String {
        let utf8 = self.utf8
        guard let first = utf8.firstIndex(where: { !$0.isXMLWhitespace }),
            let last = utf8.lastIndex(where: { !$0.isXMLWhitespace })
        else { return "" }
        if first == utf8.startIndex && last == utf8.index(before: utf8.endIndex) { return self }
        return String(self[first...last])
    }
}
