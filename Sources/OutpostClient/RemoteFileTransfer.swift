import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import OutpostCrypto

/// Files to and from a node's remote listener (`GET`/`PUT /v1/files/ROOT:path` over HTTPS), resumable and verified:
/// what `outpostctl get` and `put` do.
///
/// Resuming follows the node's side of the protocol: a download keeps a partial file beside its target and asks for
/// the rest with `Range` and `If-Range` (the ETag it started from, so a changed file starts over); an upload asks the
/// node how much of its partial arrived (`Content-Range: bytes */TOTAL`) and sends the rest. Verifying is SHA-256 end
/// to end: the node sends the file's digest (`Repr-Digest`, RFC 9530) with a download, and checks an upload's
/// `Digest` before it renames the upload into place.
public struct RemoteFileTransfer: Sendable {
    public let endpoint: RemoteEndpoint
    public let signIn: RemoteSignIn
    public let progress: TransferProgress
    /// How long the node may stay silent in the middle of a transfer.
    public var readTimeoutSeconds: Int64 = 60

    public init(endpoint: RemoteEndpoint, signIn: RemoteSignIn, progress: TransferProgress = TransferProgress()) {
        self.endpoint = endpoint
        self.signIn = signIn
        self.progress = progress
    }

    /// Runs `body` with an HTTP client for this node, and shuts the client down whatever happens.
    func withClient<T: Sendable>(_ body: (HTTPClient) async throws -> T) async throws -> T {
        var configuration = HTTPClient.Configuration(
            tlsConfiguration: endpoint.tlsConfiguration(),
            timeout: .init(connect: .seconds(30), read: .seconds(readTimeoutSeconds))
        )
        configuration.httpVersion = .http1Only
        let client = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: configuration)
        do {
            let value = try await body(client)
            try? await client.shutdown()
            return value
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    /// A request for a sandbox path, signed in.
    func fileRequest(_ method: HTTPMethod, _ remotePath: String) -> HTTPClientRequest {
        var request = HTTPClientRequest(
            url: "https://\(endpoint.authority)/v1/files/\(Self.percentEncoded(remotePath))"
        )
        request.method = method
        switch signIn {
        case .token(let token, let password):
            request.headers.add(name: "Authorization", value: "Bearer \(token)")
            if let password { request.headers.add(name: "X-Outpost-Token-Password", value: password) }
        case .password(let userName, let password):
            let pair = Base64.encode(Array("\(userName):\(password)".utf8))
            request.headers.add(name: "Authorization", value: "Basic \(pair)")
        }
        return request
    }

    /// Everything but unreserved characters, `/` and `:` is escaped.
    static func percentEncoded(_ path: String) -> String {
        var result = ""
        for byte in path.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"), UInt8(ascii: "/"), UInt8(ascii: ":"):
                result.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = String(byte, radix: 16, uppercase: true)
                result += "%" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return result
    }

    /// The node's refusal as an error that says what it said.
    func refusal(_ response: HTTPClientResponse, _ what: String) async -> ControlClientError {
        let body = (try? await response.body.collect(upTo: 16 << 10)).map { String(buffer: $0) } ?? ""
        let said = body.split(separator: "\n").first.map(String.init) ?? response.status.reasonPhrase
        let code: ControlClientError.Code
        switch response.status.code {
        case 401, 403: code = .permissionDenied
        case 429, 503: code = .timedOut
        default: code = .remote
        }
        return ControlClientError(
            code: code,
            message: "\(endpoint) refused \(what): HTTP \(response.status.code): \(said)"
        )
    }

    /// A failure below HTTP, in the words of `ControlClient`'s errors.
    func transportError(_ error: any Error, _ what: String) -> ControlClientError {
        if let error = error as? ControlClientError { return error }
        if let failure = endpoint.connectionFailure(error) { return failure }
        if let error = error as? HTTPClientError,
            error == .readTimeout || error == .connectTimeout
                || error == .deadlineExceeded
        {
            return ControlClientError(code: .timedOut, message: "\(what): \(endpoint) stopped answering (\(error))")
        }
        return ControlClientError(code: .connectionClosed, message: "\(what) from \(endpoint) was cut: \(error)")
    }
}
