import OutpostRPC

#if canImport(Glibc)
import Glibc
#endif

/// A coordinator set up as a BOINC project for a test: an app (a shell script that upper-cases `in.txt` into
/// `out.txt` and writes BOINC's finish file) and helpers to submit jobs and read their states.
extension Coordinator {
    static let projectSettings = """
        [project]
        request_delay = 0
        next_rpc_delay = 2
        """

    /// Adds the test app; `body` is shell run before the finish file is written.
    func addApp(name: String = "upper", body: String = "tr 'a-z' 'A-Z' < in.txt > out.txt") throws {
        let script = directory.file("\(name).sh")
        try writeFile(
            script,
            "#!/bin/sh\n\(body)\necho \"ran in $(pwd)\" >&2\necho 0 > boinc_finish_called\nexit 0\n",
            mode: 0o755
        )
        let added = try cli(["app", "add", name, script])
        guard added.status == 0 else { throw TestFailure("app add failed: \(added.error)") }
    }

    /// Submits `count` jobs of `app` with `input` as their `in.txt`.
    func submit(app: String = "upper", input: String, count: Int, extra: [String] = []) throws {
        let file = directory.file("input-\(UInt32.random(in: 0...UInt32.max)).txt")
        try writeFile(file, input)
        let submitted = try cli(["submit", app, "--input", "\(file)=in.txt", "--count", String(count)] + extra)
        guard submitted.status == 0 else { throw TestFailure("submit failed: \(submitted.error)") }
    }

    func jobs() throws -> [JSONValue] {
        let listed = try cli(["results", "--json"])
        guard listed.status == 0, let jobs = try? JSONCoding.parse(Array(listed.output.utf8)).arrayValue else {
            throw TestFailure("results failed: \(listed.error)")
        }
        return jobs
    }

    func summary() throws -> [String: Int64] {
        let listed = try cli(["results", "--summary", "--json"])
        guard listed.status == 0, let counts = try? JSONCoding.parse(Array(listed.output.utf8)).objectValue else {
            return [:]
        }
        return counts.compactMapValues(\.integerValue)
    }
}
