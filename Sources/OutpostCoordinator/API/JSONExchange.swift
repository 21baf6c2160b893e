import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import OutpostCheckin
import OutpostRPC

/// Reading JSON bodies and writing JSON answers, with the limits and error shapes every route shares.
///
/// Errors are `{"error": "..."}` with a status that says whose fault it was; a body over `maximumBodyBytes` is refused
/// with 413 before it is buffered in full.
struct JSONExchange: Sendable {
    let maximumBodyBytes: Int

    func body(_ request: Request) async throws -> JSONValue {
        if let type = request.headers[.contentType], !type.lowercased().hasPrefix("application/json") {
            throw RegistryError(.invalid, "send the body as application/json, not \(type)")
        }
        var request = request
        let buffer = try await request.collectBody(upTo: maximumBodyBytes)
        do {
            return try JSONCoding.parse(buffer.readableBytesView)
        } catch {
            throw RegistryError(.invalid, "the body is not valid JSON: \(error)")
        }
    }

    static func respond(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        var bytes = JSONCoding.serialize(value)
        bytes.append(UInt8(ascii: "\n"))
        return Response(
            status: status,
            headers: [.contentType: "application/json", .cacheControl: "no-store"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes))
        )
    }

    /// Turns what a route threw into an answer; anything unexpected is a 500 whose detail goes to the log only.
    static func failure(_ error: any Error, logger: Logger) -> Response {
        switch error {
        case let error as RegistryError:
            return respond(["error": .string(error.message)], status: .init(code: error.code.httpStatus))
        case let error as RPCError:
            return respond(["error": .string(error.message)], status: .badRequest)
        case let error as ClientQueryError:
            return respond(["error": .string(error.description)], status: .badRequest)
        case is NIOTooManyBytesError:
            return respond(["error": "the request body is too large"], status: .contentTooLarge)
        default:
            logger.error("request failed", metadata: ["error": "\(error)"])
            return respond(["error": "internal error; see the coordinator's log"], status: .internalServerError)
        }
    }
}
