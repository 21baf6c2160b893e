/// A `<file_info>`: a file of the project the client downloads (an app file, a workunit input) or uploads (a result
/// output). BOINC tells them apart by URL: one containing `file_upload_handler` is an upload URL
/// (`FILE_INFO::parse`, `client/client_types.cpp`).
public struct FileInfo: Sendable, Equatable {
    public var name: String
    public var downloadURLs: [String]
    public var uploadURLs: [String]
    /// Lowercase hex MD5 of the whole file, when the server gives one.
    public var md5: String?
    public var nbytes: Double?
    /// The most an output may hold; outputs larger than this are an error, as in BOINC.
    public var maxNbytes: Double?
    public var executable: Bool
    /// The BOINC code signature (hex lines ending in `.`) over the file's MD5 text, required for app files.
    public var fileSignature: String?
    /// An output's upload certificate: the project's signature over its name and `max_nbytes`, which the client
    /// sends back with the upload (`<xml_signature>`) so that only the host given the result can upload it.
    public var xmlSignature: String?

    public init(
        name: String,
        downloadURLs: [String] = [],
        uploadURLs: [String] = [],
        md5: String? = nil,
        nbytes: Double? = nil,
        maxNbytes: Double? = nil,
        executable: Bool = false,
        fileSignature: String? = nil,
        xmlSignature: String? = nil
    ) {
        self.name = name
        self.downloadURLs = downloadURLs
        self.uploadURLs = uploadURLs
        self.md5 = md5
        self.nbytes = nbytes
        self.maxNbytes = maxNbytes
        self.executable = executable
        self.fileSignature = fileSignature
        self.xmlSignature = xmlSignature
    }

    public init(xml: XMLElement) throws(XMLError) {
        self.init(name: try FileName.checked(try xml.requiredString("name"), in: "file_info"))
        for url in xml.children("url").map(\.text) {
            if url.contains("file_upload_handler") { uploadURLs.append(url) } else { downloadURLs.append(url) }
        }
        downloadURLs += xml.children("download_url").map(\.text)
        uploadURLs += xml.children("upload_url").map(\.text)
        md5 = xml.string("md5_cksum").map { $0.lowercased() }
        nbytes = try xml.double("nbytes")
        maxNbytes = try xml.double("max_nbytes")
        executable = try xml.flag("executable")
        fileSignature = xml.child("file_signature")?.rawContent
        xmlSignature = xml.child("xml_signature").map(\.text).flatMap { $0.isEmpty ? nil : $0 }
    }

    public func write(to writer: inout XMLWriter) {
        writer.open("file_info")
        writer.element("name", name)
        for url in downloadURLs + uploadURLs { writer.element("url", url) }
        if executable { writer.flag("executable") }
        if let md5 { writer.element("md5_cksum", md5) }
        if let nbytes { writer.element("nbytes", nbytes) }
        if let maxNbytes { writer.element("max_nbytes", maxNbytes) }
        if let fileSignature { writer.verbatim("file_signature", fileSignature) }
        if let xmlSignature { writer.verbatim("xml_signature", xmlSignature) }
        writer.close("file_info")
    }
}

/// A `<file_ref>`: a file an app version, workunit or result uses, and the name the task opens it by.
public struct FileReference: Sendable, Equatable {
    public var fileName: String
    public var openName: String?
    public var mainProgram: Bool
    public var copyFile: Bool
    public var optional: Bool

    public init(
        fileName: String,
        openName: String? = nil,
        mainProgram: Bool = false,
        copyFile: Bool = false,
        optional: Bool = false
    ) {
        self.fileName = fileName
        self.openName = openName
        self.mainProgram = mainProgram
        self.copyFile = copyFile
        self.optional = optional
    }

    public init(xml: XMLElement) throws(XMLError) {
        self.init(fileName: try FileName.checked(try xml.requiredString("file_name"), in: "file_ref"))
        if let open = xml.string("open_name"), !open.isEmpty {
            openName = try FileName.checked(open, in: "file_ref open_name")
        }
        mainProgram = try xml.flag("main_program")
        copyFile = try xml.flag("copy_file")
        optional = try xml.flag("optional")
    }

    /// The name the task sees in its slot directory.
    public var slotName: String { openName ?? fileName }

    public func write(to writer: inout XMLWriter) {
        writer.open("file_ref")
        writer.element("file_name", fileName)
        if let openName { writer.element("open_name", openName) }
        if mainProgram { writer.flag("main_program") }
        if copyFile { writer.flag("copy_file") }
        if optional { writer.flag("optional") }
        writer.close("file_ref")
    }
}

/// Names from a server become file names on this machine: one path component, no `..`, no NUL, no control bytes.
public enum FileName {
    public static func checked(_ name: String, in context: String) throws(XMLError) -> String {
        guard !name.isEmpty, name.utf8.count <= 255, name != ".", name != "..",
            !name.utf8.contains(where: { $0 == UInt8(ascii: "/") || $0 < 0x20 || $0 == 0x7F })
        else {
            throw XMLError(.invalidValue, "\(context): '\(name.prefix(80))' is not a safe file name")
        }
        return name
    }
}
