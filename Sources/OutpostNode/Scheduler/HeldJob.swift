import OutpostScheduler

/// One result with everything needed to run it: its workunit, app version and the file infos they reference, kept as
/// a small XML document in the scheduler store (the project's own vocabulary, read back by the same reader).
struct HeldJob: Sendable, Equatable {
    var result: ResultDescription
    var workunit: WorkunitDescription
    var appVersion: AppVersionDescription
    var files: [FileInfo]

    /// The result's job from a reply, or why it cannot run (a missing workunit, app version or file info).
    init(result: ResultDescription, reply: SchedulerReply, platform: String) throws(XMLError) {
        guard let workunit = reply.workunits.first(where: { $0.name == result.workunitName }) else {
            throw XMLError(
                .invalidValue,
                "result \(result.name) names workunit \(result.workunitName), not in the reply"
            )
        }
        let candidates = reply.appVersions.filter {
            $0.appName == workunit.appName && (result.platform == nil || $0.platform == result.platform)
        }
        let chosen =
            result.versionNum.flatMap { number in candidates.first { $0.versionNum == number } }
            ?? candidates.max { $0.versionNum < $1.versionNum }
        guard let appVersion = chosen else {
            throw XMLError(.invalidValue, "no app version of \(workunit.appName) for \(result.platform ?? platform)")
        }
        let names = Set((appVersion.files + workunit.files + result.files).map(\.fileName))
        let files = reply.fileInfos.filter { names.contains($0.name) }
        for name in names where !files.contains(where: { $0.name == name }) {
            throw XMLError(.invalidValue, "result \(result.name) refers to file \(name), which has no file_info")
        }
        guard appVersion.files.contains(where: \.mainProgram) else {
            throw XMLError(
                .invalidValue,
                "app version \(appVersion.appName) \(appVersion.versionNum) has no main program"
            )
        }
        self.result = result
        self.workunit = workunit
        self.appVersion = appVersion
        self.files = files
    }

    var xml: String {
        var writer = XMLWriter()
        writer.open("held_job")
        result.write(to: &writer)
        workunit.write(to: &writer)
        appVersion.write(to: &writer)
        for file in files { file.write(to: &writer) }
        writer.close("held_job")
        return writer.text
    }

    init(xml: String) throws(XMLError) {
        let root = try XMLReader().read(xml)
        guard let result = root.child("result"), let workunit = root.child("workunit"),
            let appVersion = root.child("app_version")
        else { throw XMLError(.invalidValue, "a stored job lacks its result, workunit or app version") }
        self.result = try ResultDescription(xml: result)
        self.workunit = try WorkunitDescription(xml: workunit)
        self.appVersion = try AppVersionDescription(xml: appVersion)
        files = try root.children("file_info").map { (element) throws(XMLError) in try FileInfo(xml: element) }
    }

    /// Files downloaded before the task starts: the app version's and the workunit's.
    var inputFiles: [FileInfo] {
        let names = Set((appVersion.files + workunit.files).map(\.fileName))
        return files.filter { names.contains($0.name) }
    }

    func file(_ name: String) -> FileInfo? {
        files.first { $0.name == name }
    }
}
