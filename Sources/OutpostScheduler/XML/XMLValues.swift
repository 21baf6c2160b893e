/// Typed reads of child elements. Numbers are strict: `30s` or an empty element is an error that names the element,
/// where BOINC would silently read 0 or ignore it (a `request_delay` of "30s" read as no delay is worse than a clear
/// error and a back-off).
extension XMLElement {
    public func string(_ name: String) -> String? {
        child(name)?.text
    }

    public func requiredString(_ name: String) throws(XMLError) -> String {
        guard let value = child(name)?.text, !value.isEmpty else {
            throw XMLError(.invalidValue, "<\(self.name)> needs a non-empty <\(name)>")
        }
        return value
    }

    public func double(_ name: String) throws(XMLError) -> Double? {
        guard let element = child(name) else { return nil }
        return try element.doubleValue()
    }

    public func integer(_ name: String) throws(XMLError) -> Int64? {
        guard let element = child(name) else { return nil }
        return try element.integerValue()
    }

    /// BOINC's booleans: `<flag/>` and `<flag>1</flag>` are true, `<flag>0</flag>` false, absence false.
    public func flag(_ name: String) throws(XMLError) -> Bool {
        guard let element = child(name) else { return false }
        switch element.text {
        case "": return element.rawContent.isEmpty
        case "1": return true
        case "0": return false
        default: throw XMLError(.invalidValue, "<\(name)> must be empty, 0 or 1, not '\(element.text.prefix(40))'")
        }
    }

    public func doubleValue() throws(XMLError) -> Double {
        guard let value = Double(text), value.isFinite else {
            throw XMLError(.invalidValue, "<\(name)> must be a number, not '\(text.prefix(40))'")
        }
        return value
    }

    /// An integer; `12.000000` (BOINC writes some integers with `%f`) is accepted when it has no fraction.
    public func integerValue() throws(XMLError) -> Int64 {
        if let value = Int64(text) { return value }
        if let value = Double(text), value.isFinite, value == value.rounded(), abs(value) < 9e18 {
            return Int64(value)
        }
        throw XMLError(.invalidValue, "<\(name)> must be an integer, not '\(text.prefix(40))'")
    }
}
