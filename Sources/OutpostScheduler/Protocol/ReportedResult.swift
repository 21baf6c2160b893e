/// A finished job in a `<scheduler_request>` (`RESULT::write`, `client/result.cpp`).
public struct ReportedResult: Sendable, Equatable {
    /// An uploaded output, as the report describes it.
    public struct OutputFile: Sendable, Equatable {
        public var name: String
        public var nbytes: Double
        public var maxNbytes: Double
        public var md5: String
        public var uploadURL: String

        public init(name: String, nbytes: Double, maxNbytes: Double, md5: String, uploadURL: String) {
            self.name = name
            self.nbytes = nbytes
            self.maxNbytes = maxNbytes
            self.md5 = md5
            self.uploadURL = uploadURL
        }
    }

    /// BOINC's result states (`RESULT_*` in `lib/common_defs.h`): 3 is a compute error, 5 files uploaded.
    public enum State: Int64, Sendable {
        case filesDownloaded = 2
        case computeError = 3
        case filesUploading = 4
        case filesUploaded = 5
        case aborted = 6
        case uploadFailed = 7
    }

    public var name: String
    public var finalCPUTime: Double
    public var finalElapsedTime: Double
    public var exitStatus: Int64
    public var state: Int64
    public var platform: String
    public var versionNum: Int64
    /// The task's stderr (the last 64 KiB at most).
    public var stderr: String
    public var outputs: [OutputFile]

    public init(
        name: String,
        finalCPUTime: Double = 0,
        finalElapsedTime: Double = 0,
        exitStatus: Int64 = 0,
        state: State = .filesUploaded,
        platform: String,
        versionNum: Int64,
        stderr: String = "",
        outputs: [OutputFile] = []
    ) {
        self.name = name
        self.finalCPUTime = finalCPUTime
        self.finalElapsedTime = finalElapsedTime
        self.exitStatus = exitStatus
        self.state = state.rawValue
        self.platform = platform
        self.versionNum = versionNum
        self.stderr = stderr
        self.outputs = outputs
    }

    public init(xml: XMLElement) throws(XMLError) {
        name = try xml.requiredString("name")
        finalCPUTime = try xml.double("final_cpu_time") ?? 0
        finalElapsedTime = try xml.double("final_elapsed_time") ?? 0
        exitStatus = try xml.integer("exit_status") ?? 0
        state = try xml.integer("state") ?? 0
        platform = xml.string("platform") ?? ""
        versionNum = try xml.integer("version_num") ?? 0
        stderr = xml.child("stderr_out").map(Self.stderrText) ?? ""
        outputs = try xml.children("file_info").map { (element) throws(XMLError) in
            OutputFile(
                name: try element.requiredString("name"),
                nbytes: try element.double("nbytes") ?? 0,
                maxNbytes: try element.double("max_nbytes") ?? 0,
                md5: element.string("md5_cksum") ?? "",
                uploadURL: element.string("upload_url") ?? ""
            )
        }
    }

    /// The stderr text of `<stderr_out>`: the CDATA's `<stderr_txt>` when present, else the element's text.
    private static func stderrText(_ element: XMLElement) -> String {
        var text = element.text
        if let start = text.firstRange(of: "<stderr_txt>") {
            text = String(text[start.upperBound...])
            if let end = text.firstRange(of: "</stderr_txt>") { text = String(text[..<end.lowerBound]) }
        }
        return text.trimmingXMLWhitespace()
    }

    public func write(to writer: inout XMLWriter, coreClientVersion: String) {
        writer.open("result")
        writer.element("name", name)
        writer.element("final_cpu_time", finalCPUTime)
        writer.element("final_elapsed_time", finalElapsedTime)
        writer.element("exit_status", exitStatus)
        writer.element("state", state)
        writer.element("platform", platform)
        writer.element("version_num", versionNum)
        writer.element("app_version_num", versionNum)
        writer.raw("<stderr_out>\n")
        writer.element("core_client_version", coreClientVersion)
        writer.cdata("<stderr_txt>\n\(stderr)\n</stderr_txt>")
        writer.raw("</stderr_out>\n")
        for output in outputs {
            writer.open("file_info")
            writer.element("name", output.name)
            writer.element("nbytes", output.nbytes)
            writer.element("max_nbytes", output.maxNbytes)
            writer.element("md5_cksum", output.md5)
            writer.element("upload_url", output.uploadURL)
            writer.close("file_info")
        }
        writer.close("result")
    }
}

extension ReportedResult {
    /// The `<result>` element alone, as stored until the report is acknowledged.
    public var xmlFragment: String {
        var writer = XMLWriter()
        write(to: &writer, coreClientVersion: SchedulerRequest.coreClientVersionText)
        return writer.text
    }

    public init(fragment: String) throws(XMLError) {
        try self.init(xml: try XMLReader().read(fragment))
    }
}
