import OutpostLanes
import OutpostScheduler
import OutpostTransfers

/// Results going back: outputs uploaded with BOINC's upload protocol, then every ready result reported in one RPC,
/// which also refills the work buffer.
extension SchedulerClient {
    func report(_ result: TaskResult) async throws {
        let outcome = await report([result])
        guard outcome.accepted.contains(result.taskID) else {
            throw SchedulerClientError(outcome.problem ?? "the result was not acknowledged")
        }
    }

    /// Uploads the outputs of every finished task given, then reports all that are ready in one RPC (within the
    /// project's request delay), which also asks for work to refill the buffer; a task counts as accepted once the
    /// project acknowledged its result.
    func report(_ results: [TaskResult]) async -> ReportOutcome {
        var outcome = ReportOutcome()
        var waiting: [(taskID: Int64, reference: String)] = []
        for result in results {
            do {
                guard let reference = result.reference, let held = try store.result(reference) else {
                    outcome.accepted.insert(result.taskID)
                    continue
                }
                if held.state == .queued {
                    let job = try HeldJob(xml: held.job)
                    let report = try await uploadAndDescribe(job, result: result)
                    try store.setState(reference, .ready, report: report.xmlFragment)
                }
                waiting.append((result.taskID, reference))
            } catch {
                outcome.problem = "\(error)"
            }
        }
        guard !waiting.isEmpty else { return outcome }
        do {
            while true {
                let wait = notBefore - .now
                if wait > .zero { try await Task.sleep(for: min(wait, .seconds(5))) }
                if notBefore - .now <= .zero { break }
            }
            let reply = try await rpc(facts: await dependencies.hostFacts())
            for (taskID, reference) in waiting where try store.result(reference) == nil {
                outcome.accepted.insert(taskID)
            }
            if outcome.accepted.count < results.count && outcome.problem == nil {
                outcome.problem = "reported but not acknowledged yet"
            }
            if let reply, !reply.results.isEmpty { await dependencies.workArrived(name) }
        } catch {
            outcome.problem = "\(error)"
        }
        return outcome
    }

    private func uploadAndDescribe(_ job: HeldJob, result: TaskResult) async throws -> ReportedResult {
        var report = ReportedResult(
            name: job.result.name,
            finalCPUTime: result.runtimeSeconds,
            finalElapsedTime: result.runtimeSeconds,
            exitStatus: Int64(result.exitStatus ?? (result.signal.map { -Int32($0) } ?? -1)),
            state: result.state == .succeeded ? .filesUploaded : .computeError,
            platform: job.appVersion.platform,
            versionNum: job.appVersion.versionNum,
            stderr: result.stderrTail ?? ""
        )
        if result.state == .aborted && result.reason == Self.projectAbortReason {
            report.state = ReportedResult.State.aborted.rawValue
            report.exitStatus = -221
            return report
        }
        if result.state != .succeeded {
            if let reason = result.reason { report.stderr += "\n<message>\(reason)</message>" }
            if report.exitStatus == 0 { report.exitStatus = -1 }
            return report
        }
        for reference in job.result.files {
            guard let info = job.file(reference.fileName), let url = info.uploadURLs.first else { continue }
            let path = result.outputFiles.first { $0.hasSuffix("/" + reference.slotName) }
            guard let path else {
                report.state = ReportedResult.State.computeError.rawValue
                report.exitStatus = -161
                report.stderr += "\noutput \(reference.slotName) is missing"
                return report
            }
            do {
                let (size, md5) = try await transfers.upload(
                    path: path,
                    name: info.name,
                    maxNbytes: info.maxNbytes ?? 0,
                    xmlSignature: info.xmlSignature ?? "",
                    url: url
                )
                report.outputs.append(
                    .init(
                        name: info.name,
                        nbytes: Double(size),
                        maxNbytes: info.maxNbytes ?? 0,
                        md5: md5,
                        uploadURL: url
                    )
                )
            } catch {
                guard error.permanent else { throw SchedulerClientError("upload of \(info.name) failed: \(error)") }
                report.state = ReportedResult.State.computeError.rawValue
                report.exitStatus = error.code
                report.stderr += "\n\(error.message)"
                return report
            }
        }
        return report
    }
}
