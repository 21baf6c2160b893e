import HTTPTypes
import Hummingbird
import NIOCore
import NIOPosix
import OutpostCore
import OutpostCrypto
import OutpostFiles
import OutpostRPC
import OutpostTransfers

#if canImport(Glibc)
import Glibc
#endif

/// Files over HTTPS on the remote listener: `GET /v1/files/{sandbox path}` (with `Range` to resume, `ETag` and
/// `If-Range` to make sure the file did not change in between) and `PUT /v1/files/{sandbox path}` (with
/// `Content-Range` to resume; the bytes go to a partial file beside the target, renamed into place only when complete
/// and, with a `Digest` header, verified). Both resolve the path through the caller's sandbox exactly as the file
/// API does, and both count against the node's bandwidth limits (a download is outgoing, an upload incoming).
///
/// Authentication per request: `Authorization: Bearer TOKEN` (plus `X-Outpost-Token-Password` for a token that has
/// one) or `Authorization: Basic` with a remote user's password; failures go through `SignInAudit` like sign-ins.
struct FileTransferRoutes: Sendable {
    let node: NodeContext
    let credentials: RemoteCredentials
    let audit: SignInAudit
    let limiter: BandwidthLimiter

    static let prefix = "/v1/files/"
    /// Bytes read or written per hop to the blocking-work pool.
    static let chunkBytes = 1 << 20

    func add(to router: Router<RemoteRequestContext>) {
        router.get("/v1/files/**") { request, context in try await download(request, context) }
        router.put("/v1/files/**") { request, context in try await upload(request, context) }
    }

    // MARK: Download

    private func download(_ request: Request, _ context: RemoteRequestContext) async throws -> Response {
        let session = try await authenticate(request, context)
        let path = try Self.sandboxPath(request)
        let resolver = node.sandboxPolicy.resolver(for: session)
        let file = try await blocking { () throws(FileOperationError) in
            try SandboxTransfers.openForReading(path, resolver: resolver)
        }
        var headers: HTTPFields = [
            .eTag: file.entityTag, .acceptRanges: "bytes", .contentType: "application/octet-stream",
        ]
        var range: Range<Int64> = 0..<file.size
        var status = HTTPResponse.Status.ok
        let ifRangeMatches = request.headers[.ifRange].map { $0 == file.entityTag } ?? true
        if let text = request.headers[.range], ifRangeMatches {
            switch Self.byteRange(text, size: file.size) {
            case .whole:
                break
            case .unsatisfiable:
                headers[.contentRange] = "bytes */\(file.size)"
                throw HTTPError(
                    .rangeNotSatisfiable,
                    headers: headers,
                    message: "no such range in \(file.size) bytes\n"
                )
            case .partial(let requested):
                range = requested
                status = .partialContent
                headers[.contentRange] = "bytes \(range.lowerBound)-\(range.upperBound - 1)/\(file.size)"
            }
        }
        headers[.contentLength] = String(range.count)
        if Self.wantsSHA256(request.headers[values: .init("Want-Repr-Digest")!]) {
            // The whole file's digest, whatever range is sent: a client resuming checks everything it ends up with.
            let digest = try await blocking { () throws(FileOperationError) -> [UInt8] in
                var sha256 = MessageDigest(.sha256)
                try file.forEachChunk { sha256.update($0) }
                return sha256.finish()
            }
            headers[.init("Repr-Digest")!] = "sha-256=:\(Base64.encode(digest)):"
        }
        let limiter = self.limiter
        let sent = range
        let body = ResponseBody(contentLength: sent.count) { writer in
            var offset = sent.lowerBound
            while offset < sent.upperBound {
                let count = Int(min(Int64(Self.chunkBytes), sent.upperBound - offset))
                let position = offset
                let bytes = try await blocking { () throws(FileOperationError) in
                    try file.read(at: position, count: count)
                }
                guard !bytes.isEmpty else { break }  // truncated by someone meanwhile: the length tells the client
                try await limiter.consume(bytes.count, .outgoing)
                try await writer.write(ByteBuffer(bytes: bytes))
                offset += Int64(bytes.count)
            }
            try await writer.finish(nil)
        }
        return Response(status: status, headers: headers, body: body)
    }

    // MARK: Upload

    private func upload(_ request: Request, _ context: RemoteRequestContext) async throws -> Response {
        let session = try await authenticate(request, context)
        let path = try Self.sandboxPath(request)
        let resolver = node.sandboxPolicy.resolver(for: session)
        let caller = session.caller
        let partial = try await blocking { () throws(FileOperationError) in
            try SandboxTransfers.openUpload(path, resolver: resolver, owner: (caller.uid, caller.gid))
        }
        let received = partial.size
        var start: Int64 = 0
        var total: Int64?
        if let text = request.headers[.contentRange] {
            guard let parsed = Self.contentRange(text) else {
                throw HTTPError(
                    .badRequest,
                    message: "Content-Range must be 'bytes START-END/TOTAL' or 'bytes */TOTAL'\n"
                )
            }
            total = parsed.total
            guard let first = parsed.range?.lowerBound else {
                // A question, not data: how much is here?
                if received == parsed.total { return try await finish(partial, request: request, path: path) }
                return Self.incomplete(received)
            }
            guard first <= received else {
                throw HTTPError(
                    .rangeNotSatisfiable,
                    headers: Self.receivedHeader(received),
                    message: "\(received) bytes are here; resume from there\n"
                )
            }
            start = first
        }
        let resumeAt = start
        try await blocking { () throws(FileOperationError) in try partial.truncate(to: resumeAt) }
        // Double-buffered: one chunk is written on the blocking pool while the next one arrives, and the two buffers
        // take turns (a fresh megabyte per chunk would cost a page fault per 4 KiB).
        var offset = resumeAt
        var pending: [UInt8] = []
        pending.reserveCapacity(Self.chunkBytes)
        var writing: Task<[UInt8], any Error>?
        func startWrite() async throws {
            var spare = try await writing?.value ?? []
            spare.removeAll(keepingCapacity: true)
            spare.reserveCapacity(Self.chunkBytes)
            swap(&pending, &spare)
            let position = offset
            offset += Int64(spare.count)
            writing = Task { [spare] in
                try await blocking { () throws(FileOperationError) -> [UInt8] in
                    var failure: FileOperationError?
                    spare.withUnsafeBytes { buffer in
                        do throws(FileOperationError) {
                            try partial.write(buffer, at: position)
                        } catch {
                            failure = error
                        }
                    }
                    if let failure { throw failure }
                    return spare
                }
            }
        }
        do {
            for try await buffer in request.body {
                try await limiter.consume(buffer.readableBytes, .incoming)
                pending.append(contentsOf: buffer.readableBytesView)
                if pending.count >= Self.chunkBytes { try await startWrite() }
            }
            if !pending.isEmpty { try await startWrite() }
            _ = try await writing?.value
        } catch {
            // What was written stays for a resume; wait for a write under way before answering.
            _ = try? await writing?.value
            throw error
        }
        if let total, offset < total { return Self.incomplete(offset) }
        return try await finish(partial, request: request, path: path)
    }

    /// Verifies the whole upload against the `Digest` header (if any) and renames it into place.
    private func finish(_ partial: PartialUpload, request: Request, path: SandboxPath) async throws -> Response {
        let expected = Self.digests(request.headers[values: .init("Digest")!])
        let size = partial.size
        if !expected.isEmpty {
            let mismatch = try await blocking { () throws(FileOperationError) -> String? in
                // Only the digests asked for: MD5 alongside would cost a second pass's worth of CPU.
                var sha256 = expected["sha-256"] != nil ? MessageDigest(.sha256) : nil
                var md5 = expected["md5"] != nil ? MessageDigest(.md5) : nil
                try partial.forEachChunk { chunk in
                    sha256?.update(chunk)
                    md5?.update(chunk)
                }
                var actual: [String: [UInt8]] = [:]
                if let sha256 = sha256.take() { actual["sha-256"] = sha256.finish() }
                if let md5 = md5.take() { actual["md5"] = md5.finish() }
                for (algorithm, wanted) in expected.sorted(by: { $0.key < $1.key }) where actual[algorithm] != wanted {
                    return "\(algorithm) is \(Base64.encode(actual[algorithm] ?? [])), the Digest header says "
                        + Base64.encode(wanted)
                }
                return nil
            }
            if let mismatch {
                partial.discard()
                throw HTTPError(.badRequest, message: "the upload's \(mismatch); the target is unchanged\n")
            }
        }
        try await blocking { () throws(FileOperationError) in try partial.commit() }
        node.events.record("fileUploaded", ["path": .string(path.text), "size": .integer(size)])
        return Response(
            status: .created,
            headers: [.contentType: "application/json"],
            body: ResponseBody(
                byteBuffer: ByteBuffer(
                    string: "{\"path\":\(JSONCoding.serializeToString(.string(path.text))),\"size\":\(size)}\n"
                )
            )
        )
    }

    private static func incomplete(_ received: Int64) -> Response {
        Response(status: .accepted, headers: receivedHeader(received))
    }

    /// `Range: bytes=0-N` for what is stored (absent when nothing is).
    private static func receivedHeader(_ received: Int64) -> HTTPFields {
        received > 0 ? [.range: "bytes=0-\(received - 1)"] : [:]
    }

    // MARK: Authentication

    private func authenticate(_ request: Request, _ context: RemoteRequestContext) async throws -> ControlSession {
        let address = context.remoteAddress?.ipAddress ?? "unknown"
        guard let authorization = request.headers[.authorization] else {
            throw HTTPError(
                .unauthorized,
                headers: [.wwwAuthenticate: "Bearer realm=\"outpostd\""],
                message: "send Authorization: Bearer TOKEN (outpostctl token create) or Basic USER:PASSWORD\n"
            )
        }
        let attempt: LoginThrottle.Attempt
        switch await audit.admit(from: address, userName: nil) {
        case .success(let admitted):
            attempt = admitted
        case .failure(let wait):
            throw HTTPError(
                .tooManyRequests,
                headers: [.retryAfter: String(Int(wait.seconds.rounded(.up)))],
                message: "too many failed sign-ins from \(address)\n"
            )
        }
        let credentials = self.credentials
        let tokenPassword = request.headers[.init("X-Outpost-Token-Password")!]
        let outcome: (userName: String, tokenSession: String?)? = try await audit.check(attempt) {
            if authorization.hasPrefix("Bearer ") {
                let token = String(authorization.dropFirst("Bearer ".count))
                guard
                    case .valid(let userName, let tokenID) = credentials.authenticate(
                        token: token,
                        password: tokenPassword,
                        now: CredentialMethods.now()
                    )
                else { return nil }
                return (userName, tokenID + ":http")
            }
            if authorization.hasPrefix("Basic "),
                let decoded = Base64.decode(String(authorization.dropFirst("Basic ".count))),
                let colon = decoded.firstIndex(of: UInt8(ascii: ":"))
            {
                let userName = String(decoding: decoded[..<colon], as: UTF8.self)
                let password = String(decoding: decoded[(colon + 1)...], as: UTF8.self)
                return credentials.authenticate(userName: userName, password: password) ? (userName, nil) : nil
            }
            return nil
        }
        guard let outcome, let account = UnixUser.account(named: outcome.userName) else {
            audit.refuse(
                attempt,
                userName: nil,
                reason: "HTTP credentials refused",
                details: ["path": .string(request.uri.path)]
            )
            throw HTTPError(
                .unauthorized,
                headers: [.wwwAuthenticate: "Bearer realm=\"outpostd\", error=\"invalid_token\""],
                message: "the credentials were refused\n"
            )
        }
        audit.accept(attempt)
        let session = ControlSession(remoteAddress: address, connectionID: 0)
        session.signIn(
            as: CallerIdentity(
                uid: account.uid,
                gid: account.gid,
                pid: 0,
                userName: outcome.userName,
                tokenSession: outcome.tokenSession
            )
        )
        return session
    }

    // MARK: Parsing

    /// The sandbox path after `/v1/files/`, percent-decoded.
    static func sandboxPath(_ request: Request) throws -> SandboxPath {
        let raw = request.uri.path
        guard raw.hasPrefix(prefix), let decoded = percentDecoded(String(raw.dropFirst(prefix.count))) else {
            throw HTTPError(.badRequest, message: "the path must be /v1/files/ROOT:relative/path, percent-encoded\n")
        }
        do {
            return try SandboxPath(decoded)
        } catch {
            throw HTTPError(.badRequest, message: "\(error.message)\n")
        }
    }

    static func percentDecoded(_ text: String) -> String? {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next(), let low = iterator.next(),
                let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16)
            else { return nil }
            bytes.append(value)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    /// What a `Range` header asks of a file of `size` bytes (RFC 9110 §14.1.2).
    enum RequestedRange: Equatable {
        /// No usable range: an unknown unit, invalid syntax, or several ranges (no multipart replies here); the
        /// whole file is sent with 200, as the RFC lets a server do.
        case whole
        case partial(Range<Int64>)
        /// A valid range that lies outside the file (416).
        case unsatisfiable
    }

    /// `Range: bytes=FIRST-LAST`, `bytes=FIRST-` or `bytes=-SUFFIX`: digits only, any number of them, and no
    /// arithmetic that could overflow (a LAST past the file is clamped before anything is added to it).
    static func byteRange(_ text: String, size: Int64) -> RequestedRange {
        let utf8 = Array(text.utf8)
        let unit = Array("bytes=".utf8)
        guard utf8.count > unit.count, utf8[..<unit.count].map({ $0 | 0x20 }) == unit.map({ $0 | 0x20 }) else {
            return .whole
        }
        let spec = utf8[unit.count...]
        guard let dash = spec.firstIndex(of: UInt8(ascii: "-")) else { return .whole }
        let first = spec[..<dash]
        let last = spec[(dash + 1)...]
        if first.isEmpty {
            guard let suffix = decimal(last) else { return .whole }
            guard suffix > 0, size > 0 else { return .unsatisfiable }
            return .partial((size - min(suffix, size))..<size)
        }
        guard let start = decimal(first) else { return .whole }
        if last.isEmpty { return start < size ? .partial(start..<size) : .unsatisfiable }
        guard let end = decimal(last), end >= start else { return .whole }
        guard start < size else { return .unsatisfiable }
        return .partial(start..<(min(end, size - 1) + 1))
    }

    /// A non-empty run of ASCII digits as a number, or nil (also past Int64.max).
    private static func decimal(_ digits: ArraySlice<UInt8>) -> Int64? {
        guard !digits.isEmpty else { return nil }
        var value: Int64 = 0
        for byte in digits {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(Int64(byte - UInt8(ascii: "0")))
            guard !overflow1, !overflow2 else { return nil }
            value = sum
        }
        return value
    }

    /// `Content-Range: bytes A-B/TOTAL` or `bytes */TOTAL`.
    static func contentRange(_ text: String) -> (range: ClosedRange<Int64>?, total: Int64)? {
        guard text.hasPrefix("bytes "), let slash = text.lastIndex(of: "/"),
            let total = Int64(text[text.index(after: slash)...]), total >= 0
        else { return nil }
        let spec = text[text.index(text.startIndex, offsetBy: 6)..<slash]
        if spec == "*" { return (nil, total) }
        guard let dash = spec.firstIndex(of: "-"), let start = Int64(spec[..<dash]),
            let end = Int64(spec[spec.index(after: dash)...]), start >= 0, end >= start, end < total
        else { return nil }
        return (start...end, total)
    }

    /// `Want-Repr-Digest: sha-256=10` (RFC 9530): the client wants the file's SHA-256 (any positive preference).
    static func wantsSHA256(_ values: [String]) -> Bool {
        values.contains { value in
            value.split(separator: ",").contains { item in
                let parts = item.drop(while: { $0 == " " }).split(separator: "=", maxSplits: 1)
                return parts.count == 2 && parts[0].lowercased() == "sha-256" && (Int(parts[1]) ?? 0) > 0
            }
        }
    }

    /// `Digest: sha-256=BASE64, md5=BASE64` (RFC 3230) as algorithm → bytes; unknown algorithms are ignored.
    static func digests(_ values: [String]) -> [String: [UInt8]] {
        var result: [String: [UInt8]] = [:]
        for value in values {
            for item in value.split(separator: ",") {
                let trimmed = item.trimmingPrefix(" ")
                guard let equals = trimmed.firstIndex(of: "=") else { continue }
                let algorithm = trimmed[..<equals].lowercased()
                guard algorithm == "sha-256" || algorithm == "md5",
                    let bytes = Base64.decode(String(trimmed[trimmed.index(after: equals)...]))
                else { continue }
                result[algorithm] = bytes
            }
        }
        return result
    }
}

/// Runs blocking file work on NIO's thread pool, so the cooperative threads keep serving; file errors become the
/// HTTP statuses that say what went wrong.
func blocking<T: Sendable>(_ work: @escaping @Sendable () throws(FileOperationError) -> T) async throws -> T {
    do {
        return try await NIOThreadPool.singleton.runIfActive { () throws -> T in try work() }
    } catch let error as FileOperationError {
        let status: HTTPResponse.Status
        switch error.code {
        case .notFound, .unknownRoot: status = .notFound
        case .escapesSandbox, .permissionDenied: status = .forbidden
        case .invalidPath: status = .badRequest
        case .refused: status = .conflict
        default:
            status =
                error.errno == ENOSPC || error.errno == EDQUOT
                ? .init(code: 507, reasonPhrase: "Insufficient Storage") : .internalServerError
        }
        throw HTTPError(status, message: error.message + "\n")
    }
}
