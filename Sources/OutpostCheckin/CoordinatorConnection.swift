import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import NIOSSL
import OutpostCore
import OutpostRPC

/// Why a call to the coordinator failed, sorted the way callers must react: retry later, or stop and tell a person.
public struct CoordinatorCallError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// Not reached, timed out, or closed early: try again with back-off.
        case unreachable
        /// A 5xx: the coordinator's trouble; try again with back-off.
        case serverError(status: Int)
        /// A 4xx: this request will not succeed by repeating it (revoked secret, bad token, bad input).
        case refused(status: Int)
        /// The answer was not the JSON the protocol promises.
        case malformedReply
    }

    public var kind: Kind
    public var message: String

    public var isRetryable: Bool {
        switch kind {
        case .unreachable, .serverError, .malformedReply: true
        case .refused: false
        }
    }

    public init(kind: Kind, message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}

/// JSON over HTTP(S) to a coordinator, through one AsyncHTTPClient with its connection pool (keep-alive), and an
/// overall deadline per call: AsyncHTTPClient's own timeout covers only the response head, so a coordinator that
/// trickles a body could otherwise hold a call forever.
public final class CoordinatorConnection: Sendable {
    public let baseURL: String
    private let client: HTTPClient
    /// Answers larger than this are refused: no coordinator reply is legitimately near it.
    private let maximumReplyBytes: Int

    /// - Parameter caFile: PEM certificates to trust for an `https` coordinator with a private CA (else the system's).
    /// - Parameters:
    ///   - caFile: PEM certificates to trust for an https coordinator (default: the system's).
    ///   - clientIdentity: a PEM certificate and key to present (an admin's, when the coordinator trusts an admin CA).
    public init(
        baseURL: String,
        caFile: String? = nil,
        clientIdentity: (certificate: String, key: String)? = nil,
        maximumReplyBytes: Int = 64 << 20
    ) throws {
        var trimmed = baseURL
        while trimmed.hasSuffix("/") { trimmed.removeLast() }
        guard trimmed.hasPrefix("http://") || trimmed.hasPrefix("https://") else {
            throw CoordinatorCallError(
                kind: .refused(status: 0),
                message: "the coordinator URL must start with http:// or https://, got '\(baseURL)'"
            )
        }
        self.baseURL = trimmed
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: .seconds(5), read: .seconds(15), write: .seconds(15))
        configuration.redirectConfiguration = .disallow
        if caFile != nil || clientIdentity != nil {
            var tls = TLSConfiguration.makeClientConfiguration()
            if let caFile { tls.trustRoots = .file(caFile) }
            tls.minimumTLSVersion = .tlsv12
            if let clientIdentity {
                tls.certificateChain = try NIOSSLCertificate.fromPEMFile(clientIdentity.certificate).map {
                    .certificate($0)
                }
                tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: clientIdentity.key, format: .pem))
            }
            configuration.tlsConfiguration = tls
        }
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        self.maximumReplyBytes = maximumReplyBytes
    }

    /// Closes the connection pool. Call once, when done.
    public func shutdown() async {
        try? await client.shutdown()
    }

    /// POSTs `body` to `path` and returns the JSON answer of a 2xx; any other outcome is a `CoordinatorCallError`.
    public func post(
        _ path: String,
        body: JSONValue,
        authorization: String? = nil,
        timeout: Duration = .seconds(30)
    ) async throws(CoordinatorCallError) -> JSONValue {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Accept", value: "application/json")
        if let authorization, !authorization.isEmpty {
            request.headers.add(name: "Authorization", value: authorization)
        }
        request.body = .bytes(ByteBuffer(bytes: JSONCoding.serialize(body)))
        return try await send(request, path: path, timeout: timeout)
    }

    /// PUTs the file at `filePath` (streamed, never read whole) to `path`; the JSON answer of a 2xx.
    public func putFile(
        _ path: String,
        filePath: String,
        authorization: String? = nil,
        timeout: Duration = .seconds(3600)
    ) async throws(CoordinatorCallError) -> JSONValue {
        guard let chunks = FileChunks(path: filePath) else {
            throw CoordinatorCallError(kind: .refused(status: 0), message: "cannot read \(filePath)")
        }
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = .PUT
        request.headers.add(name: "Content-Type", value: "application/octet-stream")
        if let authorization, !authorization.isEmpty {
            request.headers.add(name: "Authorization", value: authorization)
        }
        request.body = .stream(chunks.map { ByteBuffer(bytes: $0) }, length: .known(chunks.size))
        return try await send(request, path: path, timeout: timeout)
    }

    /// GETs `path` and hands each chunk of a 2xx body to `consume` (an output file to standard output).
    public func download(
        _ path: String,
        authorization: String? = nil,
        consume: @escaping @Sendable (ByteBuffer) throws -> Void
    ) async throws(CoordinatorCallError) {
        var request = HTTPClientRequest(url: baseURL + path)
        if let authorization, !authorization.isEmpty {
            request.headers.add(name: "Authorization", value: authorization)
        }
        let prepared = request
        let outcome: Result<Int, any Error> = await Self.withDeadline(.seconds(3600)) { [client] in
            let response = try await client.execute(prepared, timeout: .seconds(30))
            guard response.status.code == 200 else { return Int(response.status.code) }
            for try await chunk in response.body { try consume(chunk) }
            return 200
        }
        switch outcome {
        case .success(200): return
        case .success(let status):
            throw CoordinatorCallError(
                kind: .refused(status: status),
                message: "the coordinator refused \(path) (HTTP \(status))"
            )
        case .failure(let error):
            throw CoordinatorCallError(kind: .unreachable, message: "cannot fetch \(path): \(Self.describe(error))")
        }
    }

    private func send(
        _ request: HTTPClientRequest,
        path: String,
        timeout: Duration
    ) async throws(CoordinatorCallError) -> JSONValue {
        let prepared = request
        let outcome: Result<(Int, ByteBuffer), any Error> = await Self.withDeadline(timeout) {
            [client, maximumReplyBytes] in
            let response = try await client.execute(prepared, timeout: .seconds(Int64(timeout.components.seconds) + 1))
            let bytes = try await response.body.collect(upTo: maximumReplyBytes)
            return (Int(response.status.code), bytes)
        }
        let status: Int
        let bytes: ByteBuffer
        switch outcome {
        case .success(let answer): (status, bytes) = answer
        case .failure(let error):
            throw CoordinatorCallError(
                kind: .unreachable,
                message: "cannot reach the coordinator at \(baseURL): \(Self.describe(error))"
            )
        }
        let json = try? JSONCoding.parse(bytes.readableBytesView)
        let detail = json?["error"]?.stringValue ?? String(decoding: bytes.readableBytesView.prefix(200), as: UTF8.self)
        switch status {
        case 200..<300:
            guard let json else {
                throw CoordinatorCallError(
                    kind: .malformedReply,
                    message: "the coordinator's answer to \(path) is not JSON"
                )
            }
            return json
        case 500...:
            throw CoordinatorCallError(
                kind: .serverError(status: status),
                message: "the coordinator failed (HTTP \(status)): \(detail)"
            )
        default:
            throw CoordinatorCallError(
                kind: .refused(status: status),
                message: "the coordinator refused \(path) (HTTP \(status)): \(detail)"
            )
        }
    }

    private static func withDeadline<Value: Sendable>(
        _ timeout: Duration,
        _ operation: @escaping @Sendable () async throws -> Value
    ) async -> Result<Value, any Error> {
        await withTaskGroup(of: Result<Value, any Error>?.self) { group in
            group.addTask {
                do { return .success(try await operation()) } catch { return .failure(error) }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return Task.isCancelled
                    ? nil
                    : .failure(
                        CoordinatorCallError(kind: .unreachable, message: "no complete answer within \(timeout)")
                    )
            }
            var first: Result<Value, any Error>?
            while first == nil, let next = await group.next() { first = next }
            group.cancelAll()
            return first ?? .failure(CancellationError())
        }
    }

    private static func describe(_ error: any Error) -> String {
        if let error = error as? CoordinatorCallError { return error.message }
        if let error = error as? HTTPClientError { return "\(error)" }
        return "\(error)"
    }
}
