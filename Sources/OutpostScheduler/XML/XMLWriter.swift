/// Writes BOINC-style XML: one element per line, text escaped as BOINC's `xml_escape` does, numbers in the forms
/// BOINC's parsers read (`%f` for doubles would lose nothing we send; we write the shortest exact form).
public struct XMLWriter: Sendable {
    public private(set) var text = ""
    private var depth = 0

    public init() {}

    public mutating func open(_ name: String, attributes: String = "") {
        indent()
        text += attributes.isEmpty ? "<\(name)>\n" : "<\(name) \(attributes)>\n"
        depth += 1
    }

    public mutating func close(_ name: String) {
        depth -= 1
        indent()
        text += "</\(name)>\n"
    }

    public mutating func element(_ name: String, _ value: String, attributes: String = "") {
        indent()
        let start = attributes.isEmpty ? "<\(name)>" : "<\(name) \(attributes)>"
        text += "\(start)\(Self.escape(value))</\(name)>\n"
    }

    public mutating func element(_ name: String, _ value: Int64) {
        element(name, String(value))
    }

    public mutating func element(_ name: String, _ value: Int) {
        element(name, String(value))
    }

    public mutating func element(_ name: String, _ value: Double) {
        element(name, Self.number(value))
    }

    /// `<name/>`, BOINC's form of a true flag.
    public mutating func flag(_ name: String) {
        indent()
        text += "<\(name)/>\n"
    }

    /// Text the element holds verbatim (a code-signing key, preferences, a signature), never escaped.
    public mutating func verbatim(_ name: String, _ value: String) {
        // A value read back from `rawContent` starts with the newline after the tag: written once, not twice.
        let body = value.drop { $0 == "\n" }
        indent()
        text += "<\(name)>\n\(body.hasSuffix("\n") ? body : body + "\n")</\(name)>\n"
    }

    /// Arbitrary text (a task's stderr) kept intact in a CDATA section; a `]]>` inside is split across two sections.
    public mutating func cdata(_ value: String) {
        text += "<![CDATA[\n\(value.replacing("]]>", with: "]]]]><![CDATA[>"))\n]]>\n"
    }

    public mutating func raw(_ fragment: String) {
        text += fragment
    }

    private mutating func indent() {
        text += String(repeating: "    ", count: max(depth, 0))
    }

    public static func escape(_ value: String) -> String {
        let special: Set<UInt8> = [UInt8(ascii: "<"), UInt8(ascii: ">"), UInt8(ascii: "&"), 0x22, 0x27]
        guard value.utf8.contains(where: special.contains) else { return value }
        var output = ""
        for character in value {
            switch character {
            case "<": output += "&lt;"
            case ">": output += "&gt;"
            case "&": output += "&amp;"
            case "\"": output += "&quot;"
            case "'": output += "&apos;"
            default: output.append(character)
            }
        }
        return output
    }

    /// Integers without a fraction, others with six decimals as BOINC's `%f` (every BOINC parser reads both).
    public static func number(_ value: Double) -> String {
        if value.isFinite, value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        guard value.isFinite else { return "0" }
        // Beyond Int64's range Swift's shortest form ("1e+18"), which strtod reads.
        guard abs(value) < 9e18 else { return "\(value)" }
        return String(format: value)
    }
}

extension String {
    /// `%f`-like formatting without Foundation: six decimals, rounded.
    fileprivate init(format value: Double) {
        let negative = value < 0
        let scaled = (abs(value) * 1_000_000).rounded()
        let whole = scaled / 1_000_000
        let integer = whole.rounded(.down)
        let fraction = Int64(scaled - integer * 1_000_000)
        let digits = String(fraction)
        self =
            (negative ? "-" : "") + String(Int64(integer)) + "." + String(repeating: "0", count: 6 - digits.count)
            + digits
    }
}
