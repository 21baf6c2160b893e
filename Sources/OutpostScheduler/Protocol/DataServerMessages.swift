/// BOINC's upload-handler protocol (`client/file_xfer.cpp`, `sched/file_upload_handler.cpp`).
///
/// A size probe is a whole XML document; an upload is an XML header ending in `<data>\n` followed by the raw bytes
/// from `offset`, with no closing tag. Replies carry `<status>`: 0 ok, 1 (or none) transient, -1 permanent.
public enum DataServerMessage {
    /// The header before the bytes of an upload (`<data>\n` included), as the BOINC client writes it, with the
    /// output's upload certificate from the scheduler reply echoed in `<xml_signature>`.
    public static func uploadHeader(
        name: String,
        maxNbytes: Double,
        nbytes: Int64,
        md5: String,
        offset: Int64,
        xmlSignature: String = ""
    ) -> String {
        var writer = XMLWriter()
        writer.open("data_server_request")
        writeVersion(&writer)
        writer.raw("<file_upload>\n<file_info>\n")
        writer.raw("<name>\(XMLWriter.escape(name))</name>\n")
        writer.raw("<xml_signature>\n\(XMLWriter.escape(xmlSignature))</xml_signature>\n")
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
        case upload(Upload)
    }

    /// An upload's header: the file, its length and MD5, where the bytes start, and its certificate.
    public struct Upload: Sendable, Equatable {
        public var name: String
        public var nbytes: Int64
        public var md5: String?
        public var offset: Int64
        /// The `<max_nbytes>` the certificate covers (-1 when absent).
        public var maxNbytes: Double
        /// The `<xml_signature>` the client echoed ("" when none).
        public var xmlSignature: String

        public init(name: String, nbytes: Int64, md5: String?, offset: Int64, maxNbytes: Double, xmlSignature: String) {
            self.name = name
            self.nbytes = nbytes
            self.md5 = md5
            self.offset = offset
            self.maxNbytes = maxNbytes
            self.xmlSignature = xmlSignature
        }
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
            guard let element = root.child("file_upload"), let info = element.child("file_info") else {
                throw XMLError(.invalidValue, "an upload needs <file_upload><file_info>")
            }
            let name = try FileName.checked(try info.requiredString("name"), in: "upload")
            let nbytes = try element.integer("nbytes") ?? -1
            let offset = try element.integer("offset") ?? 0
            guard nbytes >= 0, offset >= 0, offset <= nbytes else {
                throw XMLError(.invalidValue, "an upload needs <nbytes> ≥ <offset> ≥ 0")
            }
            let upload = Upload(
                name: name,
                nbytes: nbytes,
                md5: element.string("md5_cksum"),
                offset: offset,
                maxNbytes: try info.double("max_nbytes") ?? -1,
                xmlSignature: info.string("xml_signature") ?? ""
            )
            return DataServerRequest(kind: .upload(upload), dataOffset: start.upperBound)
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

/// Collects an upload handler's request body until its header is complete, chunk by chunk as the network delivers it.
///
/// Each byte is looked at a bounded number of times, however small the chunks: a client that sends a header one
/// byte at a time costs no more than one that sends it at once (reparsing the growing prefix on every chunk made that
/// quadratic). The header may hold at most `maximumHeaderBytes`.
public struct DataServerRequestReader {
    public static let maximumHeaderBytes = 64 << 10

    private static let dataMarker = Array("<data>\n".utf8)
    private static let endMarker = Array("</data_server_request>".utf8)

    /// Everything received so far (the header, and the first data bytes once it is complete).
    public private(set) var received: [UInt8] = []
    /// Where the next marker search starts: every earlier position was searched already.
    private var searchedUpTo = 0

    public init() {}

    /// Adds the next chunk of the body: the request once its header is complete, nil while more is needed.
    public mutating func append(_ chunk: some Collection<UInt8>) throws(XMLError) -> DataServerRequest? {
        received.append(contentsOf: chunk)
        let found = Self.containsMarker(received, from: searchedUpTo)
        // A marker may straddle this chunk and the next: search again from where one could still begin.
        searchedUpTo = max(0, received.count - Self.endMarker.count + 1)
        if found { return try DataServerRequest.parse(prefix: received) }
        guard received.count <= Self.maximumHeaderBytes else {
            throw XMLError(.tooLarge, "the request header is longer than \(Self.maximumHeaderBytes) bytes")
        }
        return nil
    }

    private static func containsMarker(_ bytes: [UInt8], from start: Int) -> Bool {
        bytes.withUnsafeBufferPointer { buffer in
            var index = start
            while index < buffer.count {
                if buffer[index] == UInt8(ascii: "<") {
                    if matches(buffer, at: index, dataMarker) || matches(buffer, at: index, endMarker) { return true }
                }
                index += 1
            }
            return false
        }
    }

    private static func matches(_ buffer: UnsafeBufferPointer<UInt8>, at index: Int, _ marker: [UInt8]) -> Bool {
        guard index + marker.count <= buffer.count else { return false }
        for offset in 0..<marker.count where buffer[index + offset] != marker[offset] { return false }
        return true
    }
}
