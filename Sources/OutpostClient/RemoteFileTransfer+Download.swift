import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import OutpostCrypto

#if canImport(Glibc)
import Glibc
#endif

extension RemoteFileTransfer {
    /// The extended attribute on a partial download that holds the ETag of the file it is part of.
    static let entityTagAttribute = "user.outpost.etag"

    /// Downloads `remotePath` (`ROOT:path`) to `localPath` (a directory keeps the remote file's name).
    ///
    /// The bytes go to `.NAME.outpost-partial` beside the target, which is renamed into place only once complete and,
    /// with `verify`, matched against the node's SHA-256. An interrupted run leaves the partial; the next run with
    /// `resume` asks for the rest.
    public func download(
        _ remotePath: String,
        to localPath: String,
        resume: Bool = true,
        verify: Bool = true
    ) async throws(ControlClientError) -> TransferSummary {
        let target = Self.downloadTarget(localPath, remotePath: remotePath)
        let partial = try LocalFile(Self.partialPath(of: target), flags: O_RDWR | O_CREAT)
        do {
            return try await withClient { client in
                try await download(remotePath, into: partial, target: target, resume: resume, verify: verify, client)
            }
        } catch {
            // An empty partial holds nothing to resume: a refused or failed request leaves no litter behind.
            if (try? partial.size) == 0 { unlink(partial.path) }
            throw transportError(error, "the download of \(remotePath)")
        }
    }

    private func download(
        _ remotePath: String,
        into partial: LocalFile,
        target: String,
        resume: Bool,
        verify: Bool,
        _ client: HTTPClient
    ) async throws -> TransferSummary {
        var have = resume ? try partial.size : 0
        let entityTag = partial.attribute(Self.entityTagAttribute)
        if entityTag == nil { have = 0 }  // no way to tell whether the node's file is still the same one
        var hash = MessageDigest(.sha256)
        if verify && have > 0 {
            progress.start(.checksumming, done: 0, total: have)
            try partial.forEachChunk(upTo: have) { chunk in
                hash.update(chunk)
                progress.add(chunk.count)
            }
        }
        var request = fileRequest(.GET, remotePath)
        if have > 0, let entityTag {
            request.headers.add(name: "Range", value: "bytes=\(have)-")
            request.headers.add(name: "If-Range", value: entityTag)
        }
        if verify { request.headers.add(name: "Want-Repr-Digest", value: "sha-256=10") }
        var response = try await client.execute(request, timeout: .hours(24 * 365))
        if response.status == .rangeNotSatisfiable {
            // The partial is as long as the file or longer: start over rather than guess.
            _ = try? await response.body.collect(upTo: 16 << 10)
            request.headers.remove(name: "Range")
            request.headers.remove(name: "If-Range")
            have = 0
            response = try await client.execute(request, timeout: .hours(24 * 365))
        }
        var offset: Int64
        switch response.status {
        case .partialContent:
            guard let range = response.headers.first(name: "Content-Range"), range.hasPrefix("bytes \(have)-") else {
                throw ControlClientError(
                    code: .protocolViolation,
                    message: "\(endpoint) sent a range other than the one asked for (bytes \(have)-)"
                )
            }
            offset = have
        case .ok:
            offset = 0
            hash = MessageDigest(.sha256)
        default:
            throw await refusal(response, "the download of \(remotePath)")
        }
        let resumedAt = offset
        try partial.truncate(to: offset)
        partial.setAttribute(Self.entityTagAttribute, response.headers.first(name: "ETag"))
        guard let length = response.headers.first(name: "Content-Length").flatMap({ Int64($0) }) else {
            throw ControlClientError(code: .protocolViolation, message: "\(endpoint) sent no Content-Length")
        }
        let total = offset + length
        progress.start(.transferring, done: offset, total: total)
        for try await buffer in response.body {
            try buffer.withUnsafeReadableBytes { bytes throws(ControlClientError) in
                try partial.write(bytes, at: offset)
                if verify { hash.update(bytes) }
            }
            offset += Int64(buffer.readableBytes)
            progress.add(buffer.readableBytes)
        }
        guard offset == total else {
            throw ControlClientError(
                code: .connectionClosed,
                message: "\(endpoint) ended the download of \(remotePath) at \(offset) of \(total) bytes; "
                    + "run the same command again to resume"
            )
        }
        progress.start(.verifying, done: total, total: total)
        var verified: String?
        if verify {
            let actual = hash.finish()
            guard let expected = Self.reprDigest(response.headers["Repr-Digest"]) else {
                throw ControlClientError(
                    code: .protocolViolation,
                    message: "\(endpoint) sent no SHA-256 of \(remotePath) to verify against (Repr-Digest); "
                        + "pass --no-verify to take the file unverified"
                )
            }
            guard expected == actual else {
                unlink(partial.path)
                throw ControlClientError(
                    code: .remote,
                    message: "the download of \(remotePath) has SHA-256 \(Hex.encode(actual)) but the node's file has "
                        + "\(Hex.encode(expected)); the partial was removed: run the command again"
                )
            }
            verified = Hex.encode(actual)
        }
        try partial.sync()
        partial.setAttribute(Self.entityTagAttribute, nil)
        guard rename(partial.path, target) == 0 else { throw LocalFile.error("cannot rename into", target, errno) }
        return TransferSummary(destination: target, size: total, resumedAt: resumedAt, verifiedSHA256: verified)
    }

    /// `Repr-Digest: sha-256=:BASE64:` (RFC 9530): the SHA-256 of the whole file, whatever range was sent.
    static func reprDigest(_ values: [String]) -> [UInt8]? {
        for value in values {
            for item in value.split(separator: ",") {
                let trimmed = item.drop(while: { $0 == " " })
                guard trimmed.lowercased().hasPrefix("sha-256=:"), trimmed.hasSuffix(":") else { continue }
                return Base64.decode(String(trimmed.dropFirst("sha-256=:".count).dropLast()))
            }
        }
        return nil
    }

    /// A directory (or a path ending in `/`) gets the remote file's name.
    static func downloadTarget(_ localPath: String, remotePath: String) -> String {
        var status = stat()
        let isDirectory =
            localPath.hasSuffix("/") || (stat(localPath, &status) == 0 && status.st_mode & S_IFMT == S_IFDIR)
        guard isDirectory else { return localPath }
        let afterRoot = remotePath.split(separator: ":", maxSplits: 1).last.map(String.init) ?? remotePath
        let name = afterRoot.split(separator: "/").last.map(String.init) ?? afterRoot
        return (localPath.hasSuffix("/") ? localPath : localPath + "/") + name
    }

    /// `.NAME.outpost-partial` beside the target, as the node names its own partial uploads.
    static func partialPath(of target: String) -> String {
        guard let slash = target.lastIndex(of: "/") else { return ".\(target).outpost-partial" }
        return target[...slash] + "." + target[target.index(after: slash)...] + ".outpost-partial"
    }
}
