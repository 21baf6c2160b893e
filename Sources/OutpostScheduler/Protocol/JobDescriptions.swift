/// `<app>`: an application of the project.
public struct AppDescription: Sendable, Equatable {
    public var name: String
    public var userFriendlyName: String?

    public init(name: String, userFriendlyName: String? = nil) {
        self.name = name
        self.userFriendlyName = userFriendlyName
    }

    public init(xml: XMLElement) throws(XMLError) {
        self.init(name: try xml.requiredString("name"), userFriendlyName: xml.string("user_friendly_name"))
    }

    public func write(to writer: inout XMLWriter) {
        writer.open("app")
        writer.element("name", name)
        if let userFriendlyName { writer.element("user_friendly_name", userFriendlyName) }
        writer.close("app")
    }
}

/// `<app_version>`: the files (one the main program) that run an app on a platform.
public struct AppVersionDescription: Sendable, Equatable {
    public var appName: String
    public var versionNum: Int64
    public var platform: String
    public var planClass: String?
    public var avgNCPUs: Double?
    public var flops: Double?
    public var commandLine: String?
    public var files: [FileReference]

    public init(
        appName: String,
        versionNum: Int64,
        platform: String,
        planClass: String? = nil,
        avgNCPUs: Double? = nil,
        flops: Double? = nil,
        commandLine: String? = nil,
        files: [FileReference] = []
    ) {
        self.appName = appName
        self.versionNum = versionNum
        self.platform = platform
        self.planClass = planClass
        self.avgNCPUs = avgNCPUs
        self.flops = flops
        self.commandLine = commandLine
        self.files = files
    }

    public init(xml: XMLElement) throws(XMLError) {
        self.init(
            appName: try xml.requiredString("app_name"),
            versionNum: try xml.integer("version_num") ?? 0,
            platform: xml.string("platform") ?? "",
            planClass: xml.string("plan_class").flatMap { $0.isEmpty ? nil : $0 },
            avgNCPUs: try xml.double("avg_ncpus"),
            flops: try xml.double("flops"),
            commandLine: xml.string("cmdline"),
            files: try xml.children("file_ref").map { (element) throws(XMLError) in try FileReference(xml: element) }
        )
    }

    public func write(to writer: inout XMLWriter) {
        writer.open("app_version")
        writer.element("app_name", appName)
        writer.element("version_num", versionNum)
        writer.element("platform", platform)
        if let planClass { writer.element("plan_class", planClass) }
        if let avgNCPUs { writer.element("avg_ncpus", avgNCPUs) }
        if let flops { writer.element("flops", flops) }
        if let commandLine { writer.element("cmdline", commandLine) }
        for file in files { file.write(to: &writer) }
        writer.close("app_version")
    }
}

/// `<workunit>`: the job's inputs and its resource estimates and bounds.
public struct WorkunitDescription: Sendable, Equatable {
    public var name: String
    public var appName: String
    public var versionNum: Int64?
    public var commandLine: String?
    public var rscFpopsEst: Double
    public var rscFpopsBound: Double
    public var rscMemoryBound: Double
    public var rscDiskBound: Double
    public var files: [FileReference]

    /// BOINC's defaults when the server omits a bound (`WORKUNIT::parse`): about a week of 1 GFLOPS, 100 MB, 1 GB.
    public init(
        name: String,
        appName: String,
        versionNum: Int64? = nil,
        commandLine: String? = nil,
        rscFpopsEst: Double = 1e9 * 86_400 * 7,
        rscFpopsBound: Double? = nil,
        rscMemoryBound: Double = 1e8,
        rscDiskBound: Double = 1e9,
        files: [FileReference] = []
    ) {
        self.name = name
        self.appName = appName
        self.versionNum = versionNum
        self.commandLine = commandLine
        self.rscFpopsEst = rscFpopsEst
        self.rscFpopsBound = rscFpopsBound ?? rscFpopsEst * 10
        self.rscMemoryBound = rscMemoryBound
        self.rscDiskBound = rscDiskBound
        self.files = files
    }

    public init(xml: XMLElement) throws(XMLError) {
        let estimate = try xml.double("rsc_fpops_est") ?? 1e9 * 86_400 * 7
        self.init(
            name: try xml.requiredString("name"),
            appName: try xml.requiredString("app_name"),
            versionNum: try xml.integer("version_num"),
            commandLine: xml.string("command_line"),
            rscFpopsEst: estimate,
            rscFpopsBound: try xml.double("rsc_fpops_bound"),
            rscMemoryBound: try xml.double("rsc_memory_bound") ?? 1e8,
            rscDiskBound: try xml.double("rsc_disk_bound") ?? 1e9,
            files: try xml.children("file_ref").map { (element) throws(XMLError) in try FileReference(xml: element) }
        )
    }

    public func write(to writer: inout XMLWriter) {
        writer.open("workunit")
        writer.element("name", name)
        writer.element("app_name", appName)
        if let versionNum { writer.element("version_num", versionNum) }
        if let commandLine { writer.element("command_line", commandLine) }
        writer.element("rsc_fpops_est", rscFpopsEst)
        writer.element("rsc_fpops_bound", rscFpopsBound)
        writer.element("rsc_memory_bound", rscMemoryBound)
        writer.element("rsc_disk_bound", rscDiskBound)
        for file in files { file.write(to: &writer) }
        writer.close("workunit")
    }
}

/// `<result>` in a reply: one instance of a workunit to run, its outputs and its report deadline.
public struct ResultDescription: Sendable, Equatable {
    public var name: String
    public var workunitName: String
    /// Seconds since the epoch.
    public var reportDeadline: Double
    public var platform: String?
    public var versionNum: Int64?
    public var files: [FileReference]
    public var reportImmediately: Bool

    public init(
        name: String,
        workunitName: String,
        reportDeadline: Double,
        platform: String? = nil,
        versionNum: Int64? = nil,
        files: [FileReference] = [],
        reportImmediately: Bool = false
    ) {
        self.name = name
        self.workunitName = workunitName
        self.reportDeadline = reportDeadline
        self.platform = platform
        self.versionNum = versionNum
        self.files = files
        self.reportImmediately = reportImmediately
    }

    public init(xml: XMLElement) throws(XMLError) {
        self.init(
            name: try FileName.checked(try xml.requiredString("name"), in: "result"),
            workunitName: try xml.requiredString("wu_name"),
            reportDeadline: try xml.double("report_deadline") ?? 0,
            platform: xml.string("platform"),
            versionNum: try xml.integer("version_num"),
            files: try xml.children("file_ref").map { (element) throws(XMLError) in try FileReference(xml: element) },
            reportImmediately: try xml.flag("report_immediately")
        )
    }

    public func write(to writer: inout XMLWriter) {
        writer.open("result")
        writer.element("name", name)
        writer.element("wu_name", workunitName)
        writer.element("report_deadline", reportDeadline)
        if let platform { writer.element("platform", platform) }
        if let versionNum { writer.element("version_num", versionNum) }
        for file in files { file.write(to: &writer) }
        if reportImmediately { writer.flag("report_immediately") }
        writer.close("result")
    }
}
