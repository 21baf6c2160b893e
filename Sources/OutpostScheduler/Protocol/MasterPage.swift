/// A project's master page: the HTML a BOINC client fetches from the project URL to find the scheduler URLs
/// (`SCHEDULER_OP::parse_master_file`): `<scheduler>URL</scheduler>` anywhere, or `<link rel="boinc_scheduler"
/// href="URL">` in exactly that form.
public enum MasterPage {
    public static func html(projectName: String, schedulerURL: String) -> String {
        let name = XMLWriter.escape(projectName)
        let url = XMLWriter.escape(schedulerURL)
        return """
            <!DOCTYPE html>
            <html><head><title>\(name)</title>
            <link rel="boinc_scheduler" href="\(url)">
            </head><body>
            <h1>\(name)</h1>
            <p>An Outpost coordinator serving work to BOINC-compatible clients.</p>
            <!-- <scheduler>\(url)</scheduler> -->
            </body></html>

            """
    }

    /// The scheduler URLs on a page, in order, without duplicates.
    public static func schedulerURLs(in page: String) -> [String] {
        var urls: [String] = []
        for line in page.split(whereSeparator: \.isNewline) {
            var rest = Substring(line)
            while let start = rest.firstRange(of: "<scheduler>") {
                let after = rest[start.upperBound...]
                guard let end = after.firstRange(of: "</scheduler>") else { break }
                urls.append(String(after[..<end.lowerBound]).trimmingXMLWhitespace())
                rest = after[end.upperBound...]
            }
            var linkRest = Substring(line)
            while let start = linkRest.firstRange(of: "<link rel=\"boinc_scheduler\" href=\"") {
                let after = linkRest[start.upperBound...]
                guard let end = after.firstIndex(of: "\"") else { break }
                urls.append(String(after[..<end]))
                linkRest = after[end...]
            }
        }
        var seen: Set<String> = []
        return urls.filter { !$0.isEmpty && seen.insert($0).inserted }
    }
}
