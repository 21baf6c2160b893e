import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import OutpostCrypto

#if canImport(Glibc)
import Glibc
#endif

extension RemoteFileTransfer {
    /// Uploads `localPath` to `remotePath` (`ROOT:path`).
    ///
    /// With `resume`, the node is first asked how much of an earlier, interrupted upload it kept, and only the rest is
    /// sent. With `verify`, the file's SHA-256 goes along in a `Digest` header: the node renames the upload into place
    /// only if what it holds matches, and otherwise leaves the target as it was.
    public func upload(
        _ localPath: String,
        to remotePath: String,
        resume: Bool = true,
        verify: Bool = true
    ) async throws(ControlClientError) -> TransferSummary {
        let file = try LocalFile(localPath, flags: O_RDONLY)
        guard file.isRegularFile else {
            throw ControlClientError(code: .usage, message: "\(localPath) is not a regular file")
        }
        do {
            return try await withClient { client in
                try await upload(file, to: remotePath, resume: resume, verify: verify, client)
            }
        } catch {
            throw transportError(error, "the upload of \(localPath)")
        }
    }

    private func upload(
        _ file: LocalFile,
        to remotePath: String,
        resume: Bool,
        verify: Bool,
        _ client: HTTPClient
    ) async throws -> TransferSummary {
        let size = try file.size
        var sha256: [UInt8]?
        if verify {
            progress.start(.checksumming, done: 0, total: size)
            var hash = MessageDigest(.sha256)
            try file.forEachChunk(upTo: size) { chunk in
                hash.update(chunk)
                progress.add(chunk.count)
            }
            sha256 = hash.finish()
        }
        let digest = sha256.map { Hex.encode($0) }
        func signedRequest() -> HTTPClientRequest {
            var request = fileRequest(.PUT, remotePath)
            if let sha256 { request.headers.add(name: "Digest", value: "sha-256=\(Base64.encode(sha256))") }
            return request
        }
        var start: Int64 = 0
        if resume && size > 0 {
            var question = signedRequest()
            question.headers.add(name: "Content-Range", value: "bytes */\(size)")
            question.headers.add(name: "Content-Length", value: "0")
            let answer = try await client.execute(question, timeout: .seconds(readTimeoutSeconds))
            switch answer.status {
            case .created:
                // Complete already: an earlier run sent everything and was cut before it saw the answer.
                _ = try? await answer.body.collect(upTo: 16 << 10)
                progress.start(.verifying, done: size, total: size)
                return TransferSummary(destination: remotePath, size: size, resumedAt: size, verifiedSHA256: digest)
            case .accepted:
                if let range = answer.headers.first(name: "Range"), range.hasPrefix("bytes=0-"),
                    let last = Int64(range.dropFirst("bytes=0-".count)), last + 1 < size
                {
                    start = last + 1
                }
            default:
                throw await refusal(answer, "the upload to \(remotePath)")
            }
        }
        var request = signedRequest()
        if size > 0 { request.headers.add(name: "Content-Range", value: "bytes \(start)-\(size - 1)/\(size)") }
        request.body = .stream(
            UploadChunks(file: file, range: start..<size, progress: progress),
            length: .known(size - start)
        )
        progress.start(.transferring, done: start, total: size)
        let response = try await client.execute(request, timeout: .hours(24 * 365))
        progress.start(.verifying, done: size, total: size)
        switch response.status {
        case .created:
            _ = try? await response.body.collect(upTo: 16 << 10)
            return TransferSummary(destination: remotePath, size: size, resumedAt: start, verifiedSHA256: digest)
        case .accepted:
            throw ControlClientError(
                code: .connectionClosed,
                message: "\(endpoint) holds only part of the upload to \(remotePath); run the same command again to "
                    + "resume"
            )
        default:
            throw await refusal(response, "the upload to \(remotePath)")
        }
    }
}

/// A range of a local file as the body of an upload, a megabyte per buffer, counted into the progress as it goes.
struct UploadChunks: AsyncSequence, @unchecked Sendable {
    typealias Element = ByteBuffer
    /// Owned by the upload, which outlives its request.
    let file: LocalFile
    let range: Range<Int64>
    let progress: TransferProgress

    struct AsyncIterator: AsyncIteratorProtocol {
        let file: LocalFile
        var offset: Int64
        let end: Int64
        let progress: TransferProgress

        mutating func next() async throws -> ByteBuffer? {
            guard offset < end else { return nil }
            let count = Int(Swift.min(Int64(1 << 20), end - offset))
            var buffer = ByteBufferAllocator().buffer(capacity: count)
            let position = offset
            let file = self.file
            let read = try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { bytes throws -> Int in
                try file.read(
                    at: position,
                    count: count,
                    into: UnsafeMutableRawBufferPointer(rebasing: bytes[..<count])
                )
            }
            guard read > 0 else {
                throw ControlClientError(
                    code: .io,
                    message: "\(file.path) became shorter during the upload; run the command again"
                )
            }
            offset += Int64(read)
            progress.add(read)
            return buffer
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(file: file, offset: range.lowerBound, end: range.upperBound, progress: progress)
    }
}
