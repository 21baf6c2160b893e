/// A `<scheduler_request>`: written by the node (in the order and spelling of `CLIENT_STATE::make_scheduler_request`,
/// so real BOINC servers read it) and read by the coordinator's scheduler.
public struct SchedulerRequest: Sendable, Equatable {
    /// An app version the client holds; `other_results` point into this list by index.
    public struct HeldAppVersion: Sendable, Equatable {
        public var appName: String
        public var versionNum: Int64
        public var platform: String
        public var avgNCPUs: Double
        public var flops: Double

        public init(appName: String, versionNum: Int64, platform: String, avgNCPUs: Double = 1, flops: Double = 1e9) {
            self.appName = appName
            self.versionNum = versionNum
            self.platform = platform
            self.avgNCPUs = avgNCPUs
            self.flops = flops
        }
    }

    /// A job the client holds and has not reported (running or queued).
    public struct OtherResult: Sendable, Equatable {
        public var name: String
        public var appVersionIndex: Int

        public init(name: String, appVersionIndex: Int) {
            self.name = name
            self.appVersionIndex = appVersionIndex
        }
    }

    /// The BOINC client version Outpost speaks as: servers gate features on it, and 7.20.5 is what the captures show.
    public static let coreClientVersion = (major: Int64(7), minor: Int64(20), release: Int64(5))
    public static var coreClientVersionText: String {
        "\(coreClientVersion.major).\(coreClientVersion.minor).\(coreClientVersion.release)"
    }

    public var authenticator: String
    public var hostID: Int64 = 0
    public var rpcSequenceNumber: Int64 = 0
    public var coreClientMajor = coreClientVersion.major
    public var coreClientMinor = coreClientVersion.minor
    public var coreClientRelease = coreClientVersion.release
    public var workRequestSeconds: Double = 0
    public var cpuRequestSeconds: Double = 0
    public var cpuRequestInstances: Double = 0
    public var estimatedDelay: Double = 0
    public var platformName = "x86_64-pc-linux-gnu"
    public var alternativePlatforms: [String] = []
    /// Echoed back once the project gave one.
    public var codeSignKey: String?
    public var workBufferMinimumDays: Double = 0.1
    public var workBufferAdditionalDays: Double = 0.5
    public var clientStartTime: Double = 0
    public var now: Double = 0
    public var host = HostDescription()
    public var diskUsedBytes: Double = 0
    public var diskShareBytes: Double = 0
    public var results: [ReportedResult] = []
    public var appVersions: [HeldAppVersion] = []
    public var otherResults: [OtherResult] = []

    public init(authenticator: String) {
        self.authenticator = authenticator
    }

    public var coreClientVersionText: String { "\(coreClientMajor).\(coreClientMinor).\(coreClientRelease)" }

    public var xml: String {
        var writer = XMLWriter()
        writer.open("scheduler_request")
        writer.element("authenticator", authenticator)
        writer.element("hostid", hostID)
        writer.element("rpc_seqno", rpcSequenceNumber)
        writer.element("core_client_major_version", coreClientMajor)
        writer.element("core_client_minor_version", coreClientMinor)
        writer.element("core_client_release", coreClientRelease)
        writer.element("resource_share_fraction", 1.0)
        writer.element("rrs_fraction", 1.0)
        writer.element("prrs_fraction", 1.0)
        writer.element("duration_correction_factor", 1.0)
        writer.element("allow_multiple_clients", 0)
        writer.element("sandbox", 0)
        writer.element("dont_send_work", 0)
        writer.element("work_req_seconds", workRequestSeconds)
        writer.element("cpu_req_secs", cpuRequestSeconds)
        writer.element("cpu_req_instances", cpuRequestInstances)
        writer.element("estimated_delay", estimatedDelay)
        writer.element("client_cap_plan_class", 1)
        writer.element("platform_name", platformName)
        for platform in alternativePlatforms {
            writer.open("alt_platform")
            writer.element("name", platform)
            writer.close("alt_platform")
        }
        if let codeSignKey { writer.verbatim("code_sign_key", codeSignKey) }
        writeWorkingPreferences(&writer)
        writer.element("cross_project_id", "")
        writeTimeStats(&writer)
        writer.open("net_stats")
        writer.element("bwup", 0)
        writer.element("avg_up", 0)
        writer.element("avg_time_up", 0)
        writer.element("bwdown", 0)
        writer.element("avg_down", 0)
        writer.element("avg_time_down", 0)
        writer.close("net_stats")
        host.write(to: &writer)
        writer.open("disk_usage")
        writer.element("d_boinc_used_total", diskUsedBytes)
        writer.element("d_boinc_used_project", diskUsedBytes)
        writer.element("d_project_share", diskShareBytes)
        writer.close("disk_usage")
        for result in results { result.write(to: &writer, coreClientVersion: coreClientVersionText) }
        writer.open("app_versions")
        for version in appVersions {
            writer.open("app_version")
            writer.element("app_name", version.appName)
            writer.element("version_num", version.versionNum)
            writer.element("platform", version.platform)
            writer.element("avg_ncpus", version.avgNCPUs)
            writer.element("flops", version.flops)
            writer.close("app_version")
        }
        writer.close("app_versions")
        writer.open("other_results")
        for other in otherResults {
            writer.open("other_result")
            writer.element("name", other.name)
            writer.element("app_version", other.appVersionIndex)
            writer.close("other_result")
        }
        writer.close("other_results")
        writer.close("scheduler_request")
        return writer.text
    }

    /// The preferences a node runs by, in BOINC's element set: a server may read any of them. Outpost computes all the
    /// time (no user-activity or battery rules), so those are written as "always".
    private func writeWorkingPreferences(_ writer: inout XMLWriter) {
        writer.open("working_global_preferences")
        writer.open("global_preferences")
        writer.element("source_project", "")
        writer.element("mod_time", 0)
        let always: [(String, Double)] = [
            ("battery_charge_min_pct", 0), ("battery_max_temperature", 100), ("run_on_batteries", 1),
            ("run_if_user_active", 1), ("run_gpu_if_user_active", 1), ("suspend_if_no_recent_input", 0),
            ("suspend_cpu_usage", 0), ("start_hour", 0), ("end_hour", 0), ("net_start_hour", 0),
            ("net_end_hour", 0), ("leave_apps_in_memory", 0), ("confirm_before_connecting", 0),
            ("hangup_if_dialed", 0), ("dont_verify_images", 0), ("work_buf_min_days", workBufferMinimumDays),
            ("work_buf_additional_days", workBufferAdditionalDays), ("max_ncpus_pct", 100),
            ("cpu_scheduling_period_minutes", 60), ("disk_interval", 60), ("disk_max_used_gb", 0),
            ("disk_max_used_pct", 90), ("disk_min_free_gb", 0.1), ("vm_max_used_pct", 75),
            ("ram_max_used_busy_pct", 90), ("ram_max_used_idle_pct", 90), ("idle_time_to_run", 0),
            ("max_bytes_sec_up", 0), ("max_bytes_sec_down", 0), ("cpu_usage_limit", 100),
            ("daily_xfer_limit_mb", 0), ("daily_xfer_period_days", 0), ("override_file_present", 0),
            ("network_wifi_only", 0),
        ]
        for (name, value) in always { writer.element(name, value) }
        writer.close("global_preferences")
        writer.close("working_global_preferences")
    }

    private func writeTimeStats(_ writer: inout XMLWriter) {
        let running = max(now - clientStartTime, 0)
        writer.open("time_stats")
        writer.element("on_frac", 1.0)
        writer.element("connected_frac", -1.0)
        writer.element("cpu_and_network_available_frac", 1.0)
        writer.element("active_frac", 1.0)
        writer.element("gpu_active_frac", 1.0)
        writer.element("client_start_time", clientStartTime)
        writer.element("total_start_time", clientStartTime)
        writer.element("total_duration", running)
        writer.element("total_active_duration", running)
        writer.element("total_gpu_active_duration", running)
        writer.element("now", now)
        writer.element("previous_uptime", 0)
        writer.element("session_active_duration", running)
        writer.element("session_gpu_active_duration", running)
        writer.close("time_stats")
    }

    /// Reads a request (the coordinator's side); unknown elements are ignored as BOINC's scheduler does.
    public init(bytes: [UInt8], reader: XMLReader = XMLReader()) throws(XMLError) {
        let root = try reader.read(bytes)
        guard root.name == "scheduler_request" else {
            throw XMLError(.invalidValue, "expected <scheduler_request>, found <\(root.name)>")
        }
        self.init(authenticator: root.string("authenticator") ?? "")
        hostID = try root.integer("hostid") ?? 0
        rpcSequenceNumber = try root.integer("rpc_seqno") ?? 0
        coreClientMajor = try root.integer("core_client_major_version") ?? 0
        coreClientMinor = try root.integer("core_client_minor_version") ?? 0
        coreClientRelease = try root.integer("core_client_release") ?? 0
        workRequestSeconds = try root.double("work_req_seconds") ?? 0
        cpuRequestSeconds = try root.double("cpu_req_secs") ?? workRequestSeconds
        cpuRequestInstances = try root.double("cpu_req_instances") ?? 0
        estimatedDelay = try root.double("estimated_delay") ?? 0
        platformName = root.string("platform_name") ?? ""
        alternativePlatforms = root.children("alt_platform").compactMap { $0.string("name") }
        codeSignKey = root.child("code_sign_key")?.rawContent
        if let hostElement = root.child("host_info") { host = try HostDescription(xml: hostElement) }
        results = try root.children("result").map { (element) throws(XMLError) in try ReportedResult(xml: element) }
        appVersions = try (root.child("app_versions")?.children("app_version") ?? []).map {
            (element) throws(XMLError) in
            HeldAppVersion(
                appName: try element.requiredString("app_name"),
                versionNum: try element.integer("version_num") ?? 0,
                platform: element.string("platform") ?? "",
                avgNCPUs: try element.double("avg_ncpus") ?? 1,
                flops: try element.double("flops") ?? 1e9
            )
        }
        otherResults = try (root.child("other_results")?.children("other_result") ?? []).map {
            (element) throws(XMLError) in
            OtherResult(
                name: try element.requiredString("name"),
                appVersionIndex: Int(try element.integer("app_version") ?? 0)
            )
        }
    }
}
