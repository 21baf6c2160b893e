/// Why the registry refused a request, with the HTTP status that says so and a message a person can act on.
public struct RegistryError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: Sendable, Hashable {
        public let httpStatus: Int
        public static let invalid = Code(httpStatus: 400)
        public static let unauthorized = Code(httpStatus: 401)
        public static let forbidden = Code(httpStatus: 403)
        public static let notFound = Code(httpStatus: 404)
        /// The request is well formed but the client's state does not allow it (a refused status transition, deleting
        /// an online client).
        public static let conflict = Code(httpStatus: 409)
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
