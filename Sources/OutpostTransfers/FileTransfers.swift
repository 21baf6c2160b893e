import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import OutpostCore
import OutpostCrypto
import OutpostScheduler
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Downloads and uploads the way the BOINC client does them (`client/file_xfer.cpp`, `client/http_curl.cpp`):
/// downloads resume with `Range` from a `.part` file and are verified (size, MD5, and for app files the project's code
/// signature) before they are renamed into place; uploads use BOINC's upload-handler protocol with a size probe and
/// resume for files of 8 KiB or more. Every byte passes the node's `BandwidthLimiter`.
public struct FileTransfers: Sendable {
    let client: HTTPClient
    let limiter: BandwidthLimiter
    /// Files this process verified, by identity and modification time, so a large input shared by many jobs is
    /// hashed once rather than before every job.
    private let verified = VerifiedFiles()
    /// A transfer that moves no bytes for this long is abandoned (BOINC: below 10 B/s for 300 s).
    var stallTimeout: TimeAmount = .seconds(120)

    static let probeThreshold: Int64 = 8192
    static let paused = TransferError.transient("transfers are paused while the coordinator disables this node")

    public init(client: HTTPClient, limiter: BandwidthLimiter) {
        self.client = client
        self.limiter = limiter
    }

    // MARK: Downloads

    /// Makes `directory/info.name` a verified copy of the project's file; returns at once when it already is one.
    public func download(
        _ info: FileInfo,
        into directory: String,
        signingKey: CodeSigningKey?
    ) async throws(TransferError) {
        let target = "\(directory)/\(info.name)"
        if verified.contains(target) || (try? verify(info, path: target, signingKey: signingKey)) != nil {
            verified.insert(target)
            return
        }
        guard let url = info.downloadURLs.first else {
            throw TransferError(permanent: true, code: -224, message: "\(info.name) has no download URL")
        }
        guard !limiter.isPaused else { throw Self.paused }
        let partial = target + ".part"
        var offset = FileSize.of(partial) ?? 0
        if let expected = info.nbytes, offset > Int64(expected) {
            unlink(partial)
            offset = 0
        }
        let digest: (md5: String, size: Int64)?
        do {
            digest = try await limiter.withIncomingConnection {
                try await fetch(url, to: partial, offset: offset)
            }
        } catch let error as TransferError {
            throw error
        } catch {
            throw .transient("downloading \(info.name) from \(url): \(error)")
        }
        do {
            try verify(info, path: partial, signingKey: signingKey, digest: digest)
        } catch {
            unlink(partial)
            throw error
        }
        chmod(partial, info.executable ? 0o755 : 0o644)
        guard rename(partial, target) == 0 else {
            throw .transient("cannot move \(info.name) into place: \(String(cString: strerror(errno)))")
        }
        verified.insert(target)
    }

    /// Fetches `url` into `path` from `offset`; returns the whole file's MD5 and size when it was fetched from the
    /// start (hashed as it arrives, so no second pass), nil after a resume.
    private func fetch(_ url: String, to path: String, offset: Int64) async throws -> (md5: String, size: Int64)? {
        var request = HTTPClientRequest(url: url)
        if offset > 0 { request.headers.add(name: "Range", value: "bytes=\(offset)-") }
        let response = try await client.execute(request, timeout: stallTimeout)
        let status = Int(response.status.code)
        let append: Bool
        switch status {
        case 206: append = true
        case 200: append = false
        case 416 where offset > 0:
            // The partial file is longer than the server's: start over.
            unlink(path)
            return try await fetch(url, to: path, offset: 0)
        case 500...: throw TransferError.transient("\(url) answered HTTP \(status)")
        default: throw TransferError(permanent: true, code: -224, message: "\(url) answered HTTP \(status)")
        }
        let descriptor = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0o600)
        guard descriptor >= 0 else {
            throw TransferError.transient("cannot write \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        // Three things at once: the body is read ahead (`BodyRelay`), each megabyte is written on the thread pool
        // (`OverlappedWriter`) while it is hashed here. Done in turn, they cost receive + MD5 + write.
        var digest = MessageDigest(.md5)
        var size: Int64 = 0
        var writer = OverlappedWriter(descriptor: descriptor, path: path)
        do {
            try await BodyRelay.forEach(response.body) { chunk in
                try await limiter.consume(chunk.readableBytes, .incoming)
                size += Int64(chunk.readableBytes)
                try await writer.append(chunk) { if !append { digest.update($0) } }
            }
            try await writer.finish { if !append { digest.update($0) } }
        } catch {
            try? await writer.drain()  // no write may still use the descriptor once it is closed
            throw error
        }
        return append ? nil : (Hex.encode(digest.finish()), size)
    }

    /// Size, MD5 and (for executables, when a key is given) the code signature of a file on disk; `digest` when the
    /// file's MD5 and size are already known.
    public func verify(
        _ info: FileInfo,
        path: String,
        signingKey: CodeSigningKey?,
        digest: (md5: String, size: Int64)? = nil
    ) throws(TransferError) {
        guard let (md5, size) = digest ?? FileDigest.md5(path: path) else {
            throw .transient("cannot read \(path)")
        }
        if let expected = info.nbytes, Int64(expected) != size {
            // Checked after the whole file arrived: a server that serves other bytes than it describes.
            throw TransferError(
                permanent: true,
                code: -119,
                message: "\(info.name) has \(size) bytes, the project said \(Int64(expected)) (a corrupted download)"
            )
        }
        if let expected = info.md5, expected != md5 {
            throw TransferError(
                permanent: true,
                code: -119,
                message: "\(info.name) has MD5 \(md5), the project said \(expected) (a corrupted download)"
            )
        }
        if info.executable {
            guard let signingKey else {
                throw TransferError(permanent: true, code: -123, message: "the project has no code-signing key")
            }
            guard let signature = info.fileSignature, signingKey.verify(signatureText: signature, md5: md5) else {
                throw TransferError(
                    permanent: true,
                    code: -123,
                    message: "\(info.name) is not signed with the project's code-signing key; it will not run"
                )
            }
        }
    }

    // MARK: Uploads

    /// Uploads `path` as `name` with the output's upload certificate (`xmlSignature`, from the scheduler reply);
    /// returns its size and MD5 as the report states them.
    public func upload(
        path: String,
        name: String,
        maxNbytes: Double,
        xmlSignature: String,
        url: String
    ) async throws(TransferError) -> (Int64, String) {
        guard !limiter.isPaused else { throw Self.paused }
        guard let (md5, size) = FileDigest.md5(path: path) else {
            throw TransferError(permanent: true, code: -161, message: "output \(path) cannot be read")
        }
        guard maxNbytes <= 0 || Double(size) <= maxNbytes else {
            throw TransferError(
                permanent: true,
                code: -131,
                message: "output \(name) has \(size) bytes, more than the \(Int64(maxNbytes)) the project allows"
            )
        }
        var offset: Int64 = 0
        if size >= Self.probeThreshold {
            let reply = try await post(url, header: DataServerMessage.sizeProbe(name: name), file: nil)
            let present = reply.fileSize ?? 0
            if present >= size { return (size, md5) }
            offset = max(present, 0)
        }
        let header = DataServerMessage.uploadHeader(
            name: name,
            maxNbytes: maxNbytes,
            nbytes: size,
            md5: md5,
            offset: offset,
            xmlSignature: xmlSignature
        )
        _ = try await post(url, header: header, file: (path, offset))
        return (size, md5)
    }

    private func post(
        _ url: String,
        header: String,
        file: (path: String, offset: Int64)?
    ) async throws(TransferError)
        -> DataServerReply
    {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        let headerBytes = Array(header.utf8)
        if let file {
            guard let chunks = FileChunks(path: file.path, offset: file.offset) else {
                throw TransferError(permanent: true, code: -161, message: "output \(file.path) cannot be read")
            }
            let body = BodyParts(header: headerBytes, file: chunks)
            let limiter = self.limiter
            request.body = .stream(
                body.map { chunk in
                    try await limiter.consume(chunk.count, .outgoing)
                    return ByteBuffer(bytes: chunk)
                },
                length: .known(Int64(headerBytes.count) + chunks.size)
            )
        } else {
            request.body = .bytes(ByteBuffer(bytes: headerBytes))
        }
        let bytes: ByteBuffer
        let status: Int
        do {
            let response = try await client.execute(request, timeout: stallTimeout)
            status = Int(response.status.code)
            bytes = try await response.body.collect(upTo: 64 << 10)
        } catch {
            throw .transient("uploading to \(url): \(error)")
        }
        guard (200..<300).contains(status) else {
            throw status >= 500 || status == 408 || status == 429
                ? .transient("\(url) answered HTTP \(status)")
                : TransferError(permanent: true, code: -182, message: "\(url) answered HTTP \(status)")
        }
        let reply: DataServerReply
        do {
            reply = try DataServerReply(bytes: Array(bytes.readableBytesView))
        } catch {
            throw .transient("the upload handler's answer is not a data_server_reply: \(error)")
        }
        switch reply.outcome {
        case .success: return reply
        case .transient: throw .transient("the upload handler asks to retry: \(reply.message ?? "no reason given")")
        case .permanent:
            throw TransferError(
                permanent: true,
                code: -182,
                message: "the upload handler refused: \(reply.message ?? "")"
            )
        }
    }
}

/// An upload body: BOINC's XML header, then the file's bytes.
private struct BodyParts: AsyncSequence, Sendable {
    typealias Element = [UInt8]
    let header: [UInt8]
    let file: FileChunks

    struct AsyncIterator: AsyncIteratorProtocol {
        var header: [UInt8]?
        let file: FileChunks.AsyncIterator
        var fileIterator: FileChunks.AsyncIterator

        mutating func next() async throws -> [UInt8]? {
            if let pending = header {
                header = nil
                return pending
            }
            return try await fileIterator.next()
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        let iterator = file.makeAsyncIterator()
        return AsyncIterator(header: header, file: iterator, fileIterator: iterator)
    }
}

/// Paths verified by this process, with the identity and modification time they had then: a file replaced or
/// changed since is verified again.
private final class VerifiedFiles: Sendable {
    private struct Identity: Hashable {
        var device: UInt64
        var inode: UInt64
        var size: Int64
        var modified: Int
        var modifiedNanoseconds: Int
    }

    private let entries = Mutex<[String: Identity]>([:])

    private static func identity(_ path: String) -> Identity? {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        return Identity(
            device: UInt64(status.st_dev),
            inode: UInt64(status.st_ino),
            size: Int64(status.st_size),
            modified: status.st_mtim.tv_sec,
            modifiedNanoseconds: status.st_mtim.tv_nsec
        )
    }

    func contains(_ path: String) -> Bool {
        guard let identity = Self.identity(path) else { return false }
        return entries.withLock { $0[path] == identity }
    }

    func insert(_ path: String) {
        guard let identity = Self.identity(path) else { return }
        entries.withLock { $0[path] = identity }
    }
}
