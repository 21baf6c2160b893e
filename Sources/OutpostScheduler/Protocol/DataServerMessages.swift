/// BOINC's upload-handler protocol (`client/file_xfer.cpp`, `sched/file_upload_handler.cpp`).
///
/// A size probe is a whole XML document; an upload is an XML header ending in `<data>\n` followed by the raw bytes
/// from `offset`, with no closing tag. Replies carry `<status>`: 0 ok, 1 (or none) transient, -1 permanent.
public enum DataServerMessage {
    /// The header before the bytes of an upload (`<data>\n` included), as the BOINC client writes it.
    public static func uploadHeader(
        name: String,
        maxNbytes: Double,
        nbytes: Int64,
        md5: String,
        offset: Int64
    ) -> String {
        var writer = XMLWriter()
        writer.open("data_server_request")
        writeVersion(&writer)
        writer.raw("<file_upload>\n<file_info>\n")
        writer.raw("<name>\(XMLWriter.escape(name))</name>\n<xml_signature>\n</xml_signature>\n")
        writer.raw("<max_nbytes>\(XMLWriter.number(maxNbytes))</max_nbytes>\n</file_info>\n")
        writer.raw("<nbytes>\(nbytes)</nbytes>\n<md5_cksum>\(md5)</md5_cksum>\n<offset>\(offset)</offset>\n<data>\n")
        return writer.text
    }

    public static func sizeProbe(name: String) -> String {
        var writer = XMLWriter()
        writer.open("data_server_request")
        writeVersion(&writer)
        writer.element("get_file_size", name)
        writer.close("data_server_request")
        return writer.text
    }

    private static func writeVersion(_ writer: inout XMLWriter) {
        let version = SchedulerRequest.coreClientVersion
        writer.element("core_client_major_version", version.major)
        writer.element("core_client_minor_version", version.minor)
        writer.element("core_client_release", version.release)
    }

    public static func reply(status: Int, fileSize: Int64? = nil, message: String? = nil) -> String {
        var writer = XMLWriter()
        writer.open("data_server_reply")
        writer.element("status", status)
        if let fileSize { writer.element("file_size", fileSize) }
        if let message { writer.element("message", message) }
        writer.close("data_server_reply")
        return writer.text
    }
}

/// What a data server answered.
public struct DataServerReply: Sendable, Equatable {
    public enum Outcome: Sendable, Equatable {
        case success
        case transient
        case permanent
    }

    public var outcome: Outcome
    public var fileSize: Int64?
    public var message: String?

    public init(bytes: [UInt8]) throws(XMLError) {
        let root = try XMLReader(limits: .init(maximumBytes: 64 << 10, maximumDepth: 4)).read(bytes)
        guard root.name == "data_server_reply" else {
            throw XMLError(.invalidValue, "expected <data_server_reply>, found <\(root.name)>")
        }
        switch try root.integer("status") {
        case 0: outcome = .success
        case -1: outcome = .permanent
        default: outcome = .transient
        }
        fileSize = try root.integer("file_size")
        message = root.string("message")
    }
}

/// A parsed upload or probe request: what the coordinator's upload handler reads before the data.
public struct DataServerRequest: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case sizeProbe(name: String)
        case upload(name: String, nbytes: Int64, md5: String?, offset: Int64)
    }

    public var kind: Kind
    /// Index of the first data byte in the body (after `<data>\n`), for uploads.
    public var dataOffset: Int

    /// Reads the header from the first bytes of the body; `nil` when `<data>` has not arrived yet.
    public static func parse(prefix bytes: [UInt8]) throws(XMLError) -> DataServerRequest? {
        let marker = Array("<data>\n".utf8)
        if let start = bytes.firstRange(of: marker) {
            var header = Array(bytes[..<start.lowerBound])
            header += Array("</file_upload></data_server_request>".utf8)
            let root = try XMLReader(limits: .init(maximumBytes: 64 << 10, maximumDepth: 6)).read(header)
            guard let upload = root.child("file_upload"), let info = upload.child("file_info") else {
                throw XMLError(.invalidValue, "an upload needs <file_upload><file_info>")
            }
            let name = try FileName.checked(try info.requiredString("name"), in: "upload")
            let nbytes = try upload.integer("nbytes") ?? -1
            let offset = try upload.integer("offset") ?? 0
            guard nbytes >= 0, offset >= 0, offset <= nbytes else {
                throw XMLError(.invalidValue, "an upload needs <nbytes> ≥ <offset> ≥ 0")
            }
            return DataServerRequest(
                kind: .upload(name: name, nbytes: nbytes, md5: upload.string("md5_cksum"), offset: offset),
                dataOffset: start.upperBound
            )
        }
        guard let end = bytes.firstRange(of: Array("</data_server_request>".utf8)) else { return nil }
        let root = try XMLReader(limits: .init(maximumBytes: 64 << 10, maximumDepth: 4)).read(
            Array(bytes[..<end.upperBound])
        )
        guard let name = root.string("get_file_size") else {
            throw XMLError(.invalidValue, "a data-server request needs <get_file_size> or <file_upload>")
        }
        return DataServerRequest(kind: .sizeProbe(name: try FileName.checked(name, in: "get_file_size")), dataOffset: 0)
    }
}
