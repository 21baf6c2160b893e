#if canImport(Glibc)
import Glibc
#endif

/// A failure of the lanes themselves (not of a task): a slot directory that cannot be made, a spawn that fails.
public struct LaneError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public let errno: Int32?

    init(_ description: String, errno: Int32? = nil) {
        self.description = description
        self.errno = errno
    }

    public static func system(_ what: String, errno code: Int32) -> LaneError {
        LaneError("\(what): \(String(cString: strerror(code)))", errno: code)
    }
}
