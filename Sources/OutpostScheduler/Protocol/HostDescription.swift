/// `<host_info>`: the machine as the scheduler sees it (`HOST_INFO::write`, `lib/hostinfo.cpp`), in BOINC's order.
public struct HostDescription: Sendable, Equatable {
    public var timezone: Int64 = 0
    public var domainName = ""
    public var ipAddress = ""
    /// A stable per-host id (BOINC: an MD5 of MAC addresses and the host name).
    public var hostCPID = ""
    public var processors: Int64 = 1
    public var processorVendor = ""
    public var processorModel = ""
    public var processorFeatures = ""
    /// Floating-point operations per second of one processor (the lane benchmark for Outpost).
    public var floatingPointOpsPerSecond: Double = 1e9
    public var integerOpsPerSecond: Double = 1e9
    public var memoryBandwidth: Double = 1e9
    public var benchmarkTime: Double = 0
    public var memoryBytes: Double = 0
    public var cacheBytes: Double = 0
    public var swapBytes: Double = 0
    public var diskTotalBytes: Double = 0
    public var diskFreeBytes: Double = 0
    public var osName = "Linux"
    public var osVersion = ""

    public init() {}

    public init(xml: XMLElement) throws(XMLError) {
        timezone = try xml.integer("timezone") ?? 0
        domainName = xml.string("domain_name") ?? ""
        ipAddress = xml.string("ip_addr") ?? ""
        hostCPID = xml.string("host_cpid") ?? ""
        processors = try xml.integer("p_ncpus") ?? 1
        processorVendor = xml.string("p_vendor") ?? ""
        processorModel = xml.string("p_model") ?? ""
        processorFeatures = xml.string("p_features") ?? ""
        floatingPointOpsPerSecond = try xml.double("p_fpops") ?? 1e9
        integerOpsPerSecond = try xml.double("p_iops") ?? 1e9
        memoryBandwidth = try xml.double("p_membw") ?? 1e9
        benchmarkTime = try xml.double("p_calculated") ?? 0
        memoryBytes = try xml.double("m_nbytes") ?? 0
        cacheBytes = try xml.double("m_cache") ?? 0
        swapBytes = try xml.double("m_swap") ?? 0
        diskTotalBytes = try xml.double("d_total") ?? 0
        diskFreeBytes = try xml.double("d_free") ?? 0
        osName = xml.string("os_name") ?? ""
        osVersion = xml.string("os_version") ?? ""
    }

    public func write(to writer: inout XMLWriter) {
        writer.open("host_info")
        writer.element("timezone", timezone)
        writer.element("domain_name", domainName)
        writer.element("ip_addr", ipAddress)
        writer.element("host_cpid", hostCPID)
        writer.element("p_ncpus", processors)
        writer.element("p_vendor", processorVendor)
        writer.element("p_model", processorModel)
        writer.element("p_features", processorFeatures)
        writer.element("p_fpops", floatingPointOpsPerSecond)
        writer.element("p_iops", integerOpsPerSecond)
        writer.element("p_membw", memoryBandwidth)
        writer.element("p_calculated", benchmarkTime)
        writer.element("p_vm_extensions_disabled", 0)
        writer.element("m_nbytes", memoryBytes)
        writer.element("m_cache", cacheBytes)
        writer.element("m_swap", swapBytes)
        writer.element("d_total", diskTotalBytes)
        writer.element("d_free", diskFreeBytes)
        writer.element("os_name", osName)
        writer.element("os_version", osVersion)
        writer.element("n_usable_coprocs", 0)
        writer.element("wsl_available", 0)
        writer.close("host_info")
    }
}
