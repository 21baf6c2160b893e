/// A configuration file that cannot be used, located precisely enough to fix: the file, the line, the key.
public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int?
    public var key: String?
    public var message: String

    public init(file: String, line: Int? = nil, key: String? = nil, message: String) {
        self.file = file
        self.line = line
        self.key = key
        self.message = message
    }

    /// `FILE:LINE: key 'control.socket': MESSAGE`, the shape compilers use, so editors can jump to it.
    public var description: String {
        var text = file
        if let line { text += ":\(line)" }
        text += ": "
        if let key { text += "key '\(key)': " }
        return text + message
    }

    /// sysexits.h's EX_CONFIG: the exit status for a configuration error.
    public static let exitStatus: Int32 = 78
}
