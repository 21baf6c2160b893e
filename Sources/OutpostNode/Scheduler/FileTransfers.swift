import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import OutpostCore
import OutpostCrypto
import OutpostScheduler

#if canImport(Glibc)
import Glibc
#endif

/// Why a transfer failed: `transient` ones are retried later (the network, a 5xx, a full disk); `permanent` ones end
/// the job with `code` as its BOINC error (a wrong MD5 or signature, a 404, an output over `max_nbytes`).
struct TransferError: Error, Sendable, CustomStringConvertible {
    var permanent: Bool
    /// BOINC's error number for the report (`lib/error_numbers.h`).
    var code: Int64
    var message: String

    static func transient(_ message: String) -> TransferError {
        TransferError(permanent: false, code: -182, message: message)
    }

    var description: String { message }
}

/// Downloads and uploads the way the BOINC client does them (`client/file_xfer.cpp`, `client/http_curl.cpp`):
/// downloads resume with `Range` from a `.part` file and are verified (size, MD5, and for app files the project's code
/// signature) before they are renamed into place; uploads use BOINC's upload-handler protocol with a size probe and
/// resume for files of 8 KiB or more.
struct FileTransfers: Sendable {
    let client: HTTPClient
    /// A transfer that moves no bytes for this long is abandoned (BOINC: below 10 B/s for 300 s).
    var stallTimeout: TimeAmount = .seconds(120)

    static let probeThreshold: Int64 = 8192

    // MARK: Downloads

    /// Makes `directory/info.name` a verified copy of the project's file; returns at once when it already is one.
    func download(_ info: FileInfo, into directory: String, signingKey: CodeSigningKey?) async throws(TransferError) {
        let target = "\(directory)/\(info.name)"
        if (try? verify(info, path: target, signingKey: signingKey)) != nil { return }
        guard let url = info.downloadURLs.first else {
            throw TransferError(permanent: true, code: -224, message: "\(info.name) has no download URL")
        }
        let partial = target + ".part"
        var offset = FileSize.of(partial) ?? 0
        if let expected = info.nbytes, offset > Int64(expected) {
            unlink(partial)
            offset = 0
        }
        do {
            try await fetch(url, to: partial, offset: offset)
        } catch let error as TransferError {
            throw error
        } catch {
            throw .transient("downloading \(info.name) from \(url): \(error)")
        }
        do {
            try verify(info, path: partial, signingKey: signingKey)
        } catch {
            unlink(partial)
            throw error
        }
        chmod(partial, info.executable ? 0o755 : 0o644)
        guard rename(partial, target) == 0 else {
            throw .transient("cannot move \(info.name) into place: \(String(cString: strerror(errno)))")
        }
    }

    private func fetch(_ url: String, to path: String, offset: Int64) async throws {
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
        for try await chunk in response.body {
            try chunk.withUnsafeReadableBytes { bytes throws(TransferError) in
                try FileSize.writeAll(descriptor, bytes, path: path)
            }
        }
    }

    /// Size, MD5 and (for executables, when a key is given) the code signature of a file on disk.
    func verify(_ info: FileInfo, path: String, signingKey: CodeSigningKey?) throws(TransferError) {
        guard let (md5, size) = FileDigest.md5(path: path) else {
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

    /// Uploads `path` as `name`; returns its size and MD5 as the report states them.
    func upload(
        path: String,
        name: String,
        maxNbytes: Double,
        url: String
    ) async throws(TransferError) -> (Int64, String) {
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
            offset: offset
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
            request.body = .stream(
                body.map { ByteBuffer(bytes: $0) },
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

/// Small file helpers for transfers.
enum FileSize {
    static func of(_ path: String) -> Int64? {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        return Int64(status.st_size)
    }

    static func writeAll(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws(TransferError) {
        var offset = 0
        while offset < bytes.count {
            let count = write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else {
                // A full disk is transient: the job waits, nothing is lost, and the transfer resumes later.
                throw .transient("cannot write \(path): \(String(cString: strerror(errno)))")
            }
            offset += count
        }
    }
}
