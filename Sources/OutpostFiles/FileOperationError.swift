#if canImport(Glibc)
import Glibc
#endif

/// Why a file operation failed, naming the path as the caller wrote it (never the real path behind a sandbox, which
/// would leak the layout of the machine) and keeping the errno where there is one.
public struct FileOperationError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        public var description: String { name }

        /// The path names a sandbox root the caller does not have.
        public static let unknownRoot = Code(name: "unknownRoot")
        /// The path is malformed: NUL bytes, an over-long name, a bad root prefix.
        public static let invalidPath = Code(name: "invalidPath")
        /// Resolving the path would leave its sandbox root (`..`, an absolute symlink, a symlink pointing out).
        public static let escapesSandbox = Code(name: "escapesSandbox")
        /// The path does not exist.
        public static let notFound = Code(name: "notFound")
        /// The daemon's own permissions do not allow it.
        public static let permissionDenied = Code(name: "permissionDenied")
        /// The operation is refused by rule (removing a sandbox root, moving a directory into itself).
        public static let refused = Code(name: "refused")
        /// The request was cancelled while it ran.
        public static let cancelled = Code(name: "cancelled")
        /// Any other system error; `errno` says which.
        public static let system = Code(name: "system")
    }

    public var code: Code
    public var path: String
    public var message: String
    public var errno: Int32?

    public init(_ code: Code, path: String, message: String, errno: Int32? = nil) {
        self.code = code
        self.path = path
        self.message = message
        self.errno = errno
    }

    /// Classifies an errno from a system call on `path`.
    public static func system(_ error: Int32, path: String, doing operation: String) -> FileOperationError {
        let reason = String(cString: strerror(error))
        switch error {
        case ENOENT:
            return FileOperationError(
                .notFound,
                path: path,
                message: "\(path): no such file or directory",
                errno: error
            )
        case EACCES, EPERM:
            return FileOperationError(
                .permissionDenied,
                path: path,
                message: "\(path): permission denied (\(operation))",
                errno: error
            )
        case EXDEV:
            return FileOperationError(
                .escapesSandbox,
                path: path,
                message: "\(path): resolves outside its sandbox root",
                errno: error
            )
        case ENAMETOOLONG:
            return FileOperationError(
                .invalidPath,
                path: path,
                message: "\(path): a name in the path is too long",
                errno: error
            )
        default:
            return FileOperationError(
                .system,
                path: path,
                message: "\(path): \(operation) failed: \(reason)",
                errno: error
            )
        }
    }

    public var description: String { message }
}
