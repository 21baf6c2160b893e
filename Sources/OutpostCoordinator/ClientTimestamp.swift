#if canImport(Glibc)
import Glibc
#endif

/// The entity's timestamps: seconds since 1970 in the database, `2022-01-21T07:51:57` (UTC, as in the entity's
/// example) on the wire.
enum ClientTimestamp {
    static func format(_ seconds: Double) -> String {
        var time = time_t(seconds.rounded(.down))
        var parts = tm()
        gmtime_r(&time, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T"
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))"
    }

    /// Reads `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM` or `YYYY-MM-DDTHH:MM:SS` (a space may replace the `T`; a trailing `Z` is
    /// allowed) as UTC.
    static func parse(_ text: String) -> Double? {
        var body = Substring(text)
        if body.hasSuffix("Z") { body = body.dropLast() }
        let halves = body.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "T" || $0 == " " })
        guard halves.count == 1 || halves.count == 2 else { return nil }
        let date = halves[0].split(separator: "-", omittingEmptySubsequences: false).map { Int32($0) }
        guard date.count == 3, let year = date[0], let month = date[1], let day = date[2],
            (1970...9999).contains(year), (1...12).contains(month), (1...31).contains(day)
        else { return nil }
        var hour: Int32 = 0
        var minute: Int32 = 0
        var second: Int32 = 0
        if halves.count == 2 {
            let time = halves[1].split(separator: ":", omittingEmptySubsequences: false).map { Int32($0) }
            guard time.count == 2 || time.count == 3, let h = time[0], let m = time[1], (0...23).contains(h),
                (0...59).contains(m)
            else { return nil }
            hour = h
            minute = m
            if time.count == 3 {
                guard let s = time[2], (0...60).contains(s) else { return nil }
                second = s
            }
        }
        var parts = tm()
        parts.tm_year = year - 1900
        parts.tm_mon = month - 1
        parts.tm_mday = day
        parts.tm_hour = hour
        parts.tm_min = minute
        parts.tm_sec = second
        let seconds = timegm(&parts)
        // timegm normalises 31 February into March; a date that moved was not a real one.
        guard parts.tm_mday == day, parts.tm_mon == month - 1 else { return nil }
        return Double(seconds)
    }
}
