/// What a CPU node takes from the `<global_preferences>` a project sends (the account's computing preferences, as
/// `GLOBAL_PREFS::parse` reads them in `lib/prefs.cpp`): the work buffer and the CPU share. The rest (batteries, user
/// activity, GPU, network hours) does not apply to a headless service. Settings inside a `<venue>` are ignored, as
/// they are for a host without that venue.
public struct GlobalPreferences: Sendable, Equatable {
    public var modifiedTime: Double?
    public var workBufferMinimumDays: Double?
    public var workBufferAdditionalDays: Double?
    /// `max_ncpus_pct`: the share of the CPUs BOINC work may use.
    public var maximumCPUPercent: Double?

    public init() {}

    /// Reads the content of a `<global_preferences>` element (what `SchedulerReply.globalPreferences` holds).
    public init(content: String, reader: XMLReader = XMLReader()) throws(XMLError) {
        let root = try reader.read("<global_preferences>" + content + "</global_preferences>")
        modifiedTime = try root.double("mod_time")
        workBufferMinimumDays = try Self.days(root, "work_buf_min_days")
        workBufferAdditionalDays = try Self.days(root, "work_buf_additional_days")
        if let percent = try root.double("max_ncpus_pct") {
            guard (0...100).contains(percent) else {
                throw XMLError(.invalidValue, "max_ncpus_pct must be 0…100, found \(percent)")
            }
            maximumCPUPercent = percent
        }
    }

    private static func days(_ root: XMLElement, _ name: String) throws(XMLError) -> Double? {
        guard let value = try root.double(name) else { return nil }
        guard (0...10).contains(value) else {
            throw XMLError(.invalidValue, "\(name) must be 0…10 days, found \(value)")
        }
        return value
    }
}
