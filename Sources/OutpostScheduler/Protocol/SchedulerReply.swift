/// A `<scheduler_reply>`: what a BOINC scheduler answers, read by the node and written by the coordinator.
///
/// Reading follows `SCHEDULER_REPLY::parse` (`client/scheduler_op.cpp`): elements in any order, unknown top-level
/// elements tolerated — and, as BOINC does, known elements nested inside an unknown wrapper still count — while the
/// job objects are read strictly, because a job with a wrong file name or number must not run.
public struct SchedulerReply: Sendable, Equatable {
    public struct Message: Sendable, Equatable {
        public var text: String
        /// `low` (the default), `high` (must reach the admin) or `notice`.
        public var priority: String

        public init(_ text: String, priority: String = "low") {
            self.text = text
            self.priority = priority
        }
    }

    public var projectName: String?
    public var masterURL: String?
    public var userName: String?
    public var hostID: Int64?
    /// The least number of seconds before the next RPC.
    public var requestDelay: Double?
    /// The server asks to be called back after this many seconds.
    public var nextRPCDelay: Double?
    public var messages: [Message] = []
    public var projectIsDown = false
    /// The reply's `<redirect>` elements: when present, these replace the project's scheduler URLs.
    public var redirects: [String] = []
    public var codeSignKey: String?
    public var codeSignKeySignature: String?
    public var globalPreferences: String?
    public var projectPreferences: String?
    public var apps: [AppDescription] = []
    public var fileInfos: [FileInfo] = []
    public var appVersions: [AppVersionDescription] = []
    public var workunits: [WorkunitDescription] = []
    public var results: [ResultDescription] = []
    public var resultAcks: [String] = []
    public var resultAborts: [String] = []
    public var resultAbortsIfNotStarted: [String] = []
    public var noCPUApps = false

    public init() {}

    /// Reads a reply; any problem is an `XMLError` that names it (the caller logs it and backs off).
    public init(bytes: [UInt8], reader: XMLReader = XMLReader()) throws(XMLError) {
        let root = try reader.read(bytes)
        guard root.name == "scheduler_reply" else {
            throw XMLError(.invalidValue, "expected <scheduler_reply>, found <\(root.name)>")
        }
        try read(root.children)
    }

    private mutating func read(_ elements: [XMLElement]) throws(XMLError) {
        for element in elements {
            switch element.name {
            case "project_name": projectName = element.text
            case "master_url": masterURL = element.text
            case "user_name": userName = element.text
            case "hostid": hostID = try element.integerValue()
            case "request_delay": requestDelay = try element.doubleValue()
            case "next_rpc_delay": nextRPCDelay = try element.doubleValue()
            case "message":
                messages.append(Message(element.text, priority: element.attribute("priority") ?? "low"))
            case "project_is_down": projectIsDown = element.text != "0"
            case "redirect": redirects.append(element.text)
            case "code_sign_key": codeSignKey = element.rawContent
            case "code_sign_key_signature": codeSignKeySignature = element.rawContent
            case "global_preferences": globalPreferences = element.rawContent
            case "project_preferences": projectPreferences = element.rawContent
            case "app": apps.append(try AppDescription(xml: element))
            case "file_info": fileInfos.append(try FileInfo(xml: element))
            case "app_version": appVersions.append(try AppVersionDescription(xml: element))
            case "workunit": workunits.append(try WorkunitDescription(xml: element))
            case "result": results.append(try ResultDescription(xml: element))
            case "result_ack": resultAcks.append(try element.requiredString("name"))
            case "result_abort": resultAborts.append(try element.requiredString("name"))
            case "result_abort_if_not_started": resultAbortsIfNotStarted.append(try element.requiredString("name"))
            case "no_cpu_apps": noCPUApps = element.text != "0"
            case "gui_urls", "rss_feeds", "trickle_up_urls", "project_files", "auto_update", "delete_file_info":
                continue
            default:
                // BOINC keeps tokenizing inside an unknown element, so known elements nested in it take effect.
                try read(element.children)
            }
        }
    }

    /// The reply as a scheduler writes it.
    public var xml: String {
        var writer = XMLWriter()
        writer.open("scheduler_reply")
        if let projectName { writer.element("project_name", projectName) }
        if let masterURL { writer.element("master_url", masterURL) }
        if let userName { writer.element("user_name", userName) }
        if let hostID { writer.element("hostid", hostID) }
        if let requestDelay { writer.element("request_delay", requestDelay) }
        if let nextRPCDelay { writer.element("next_rpc_delay", nextRPCDelay) }
        for message in messages {
            writer.element("message", message.text, attributes: "priority=\"\(message.priority)\"")
        }
        if projectIsDown { writer.flag("project_is_down") }
        for redirect in redirects { writer.element("redirect", redirect) }
        if let codeSignKey { writer.verbatim("code_sign_key", codeSignKey) }
        if let codeSignKeySignature { writer.verbatim("code_sign_key_signature", codeSignKeySignature) }
        for app in apps { app.write(to: &writer) }
        for fileInfo in fileInfos { fileInfo.write(to: &writer) }
        for appVersion in appVersions { appVersion.write(to: &writer) }
        for workunit in workunits { workunit.write(to: &writer) }
        for result in results { result.write(to: &writer) }
        for name in resultAcks { named("result_ack", name, &writer) }
        for name in resultAborts { named("result_abort", name, &writer) }
        for name in resultAbortsIfNotStarted { named("result_abort_if_not_started", name, &writer) }
        if noCPUApps { writer.flag("no_cpu_apps") }
        writer.close("scheduler_reply")
        return writer.text
    }

    private func named(_ element: String, _ name: String, _ writer: inout XMLWriter) {
        writer.open(element)
        writer.element("name", name)
        writer.close(element)
    }
}
