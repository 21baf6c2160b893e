import GRDB
import OutpostCrypto
import OutpostRPC
import OutpostScheduler

#if canImport(Glibc)
import Glibc
#endif

/// BOINC's upload handler: outputs of results in progress only, each with the upload certificate the scheduler gave
/// the host (`UploadCertificate`) and within its job's `max_nbytes`, resumable at the size a probe reports, and
/// checked against the MD5 the client sends before it counts as uploaded.
extension ProjectStore {
    /// The bytes of `name` already here (0 when none), for `<get_file_size>`.
    public func uploadedSize(_ name: String) -> Int64 {
        IncomingFile.size(of: directories.upload + "/" + name) ?? 0
    }

    /// Opens the target of an upload after checking its certificate (only the host given the result has it) and
    /// that a result in progress expects it.
    public func beginUpload(_ upload: DataServerRequest.Upload) async throws -> IncomingUpload {
        let (name, nbytes, offset) = (upload.name, upload.nbytes, upload.offset)
        guard uploadCertificate.verifies(upload) else {
            throw RegistryError(.forbidden, "\(name): the upload certificate (<xml_signature>) is missing or invalid")
        }
        guard Double(nbytes) <= upload.maxNbytes.rounded() else {
            throw RegistryError(
                .forbidden,
                "\(name) has \(nbytes) bytes; its certificate allows at most \(Int64(upload.maxNbytes))"
            )
        }
        let parts = name.split(separator: "_r", omittingEmptySubsequences: false)
        guard parts.count >= 2, let index = Int(parts.last!) else {
            throw RegistryError(.forbidden, "no result expects a file named \(name)")
        }
        let resultName = String(name.dropLast(parts.last!.count + 2))
        let target = try await pool.read { db -> (outputs: Int, maximum: Double)? in
            let found = try Row.fetchOne(
                db,
                sql: """
                    SELECT j.outputs, j.max_output_bytes FROM results r JOIN jobs j ON j.id = r.job_id
                    WHERE r.name = ? AND r.state = 'in_progress'
                    """,
                arguments: [resultName]
            )
            return found.map { (Self.parseJSON($0["outputs"]).arrayValue?.count ?? 0, $0["max_output_bytes"]) }
        }
        guard let target, index >= 0, index < target.outputs else {
            throw RegistryError(.forbidden, "no result in progress expects \(name) (it may have timed out)")
        }
        let maximum = target.maximum
        guard Double(nbytes) <= maximum else {
            throw RegistryError(.forbidden, "\(name) has \(nbytes) bytes; the job allows at most \(Int64(maximum))")
        }
        let path = directories.upload + "/" + name
        let present = IncomingFile.size(of: path) ?? 0
        guard offset <= present else {
            throw RegistryError(.conflict, "\(name): offset \(offset) is past the \(present) bytes received")
        }
        return IncomingUpload(
            file: try IncomingFile(path: path, offset: offset, limit: nbytes - offset),
            offset: offset
        )
    }

    /// Ends an upload: complete and matching its MD5, or an error (incomplete is transient, a wrong MD5 permanent and
    /// the file is removed so the next attempt starts over).
    public func finishUpload(_ upload: IncomingUpload, nbytes: Int64, md5: String?) throws {
        let partialDigest = try upload.file.finish()
        let received = upload.offset + upload.file.written
        guard received == nbytes else {
            throw RegistryError(.conflict, "received \(received) of \(nbytes) bytes; resume the upload")
        }
        guard let md5, !md5.isEmpty else { return }
        let digest = upload.offset == 0 ? partialDigest : FileDigest.md5(path: upload.file.path)?.md5
        guard digest == md5.lowercased() else {
            unlink(upload.file.path)
            throw RegistryError(.invalid, "the file's MD5 is \(digest ?? "unreadable"), the client said \(md5)")
        }
    }
}

/// An upload being written; `append` its bytes, then `finishUpload`.
public struct IncomingUpload {
    let file: IncomingFile
    let offset: Int64

    public func append(_ bytes: UnsafeRawBufferPointer) throws {
        try file.append(bytes)
    }
}
