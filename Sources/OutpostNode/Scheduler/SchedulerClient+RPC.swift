import AsyncHTTPClient
import Logging
import NIOCore
import NIOHTTP1
import OutpostCore
import OutpostCrypto
import OutpostLanes
import OutpostRPC
import OutpostScheduler
import OutpostState

/// The RPC itself: master page, request, reply, back-off.
extension SchedulerClient {

    /// One scheduler RPC (serialised with any other): reports every ready result and asks for the work the buffer
    /// lacks; nil when the project could not be reached (backed off).
    func rpc(facts: (lanes: Int, flops: Double)) async throws -> SchedulerReply? {
        while rpcBusy { try await Task.sleep(for: .milliseconds(50)) }
        rpcBusy = true
        defer { rpcBusy = false }
        guard let authenticator = dependencies.authenticator() else { throw NotEnrolledYet() }
        do {
            if project.schedulerURLs.isEmpty { try await fetchMasterPage() }
            var request = try makeRequest(authenticator: authenticator, facts: facts)
            let shortfall = try workShortfall(facts: facts)
            request.workRequestSeconds = shortfall.seconds
            request.cpuRequestSeconds = shortfall.seconds
            request.cpuRequestInstances = shortfall.idleInstances
            let reply = try await send(request)
            failures = 0
            try handle(reply)
            for name in laneAborts where await dependencies.abortTask(self.name, name, Self.projectAbortReason) {
                dependencies.logger.notice("the project aborted a job", metadata: ["result": "\(name)"])
            }
            laneAborts = []
            return reply
        } catch {
            backOff(because: "\(error)")
            throw error
        }
    }

    /// What the work buffer lacks, as BOINC computes it: the lanes' share of `work_buf_min_days` +
    /// `work_buf_additional_days`, less the estimated run time of the jobs held and not finished; and how many lanes
    /// those jobs leave without work.
    private func workShortfall(facts: (lanes: Int, flops: Double)) throws -> (seconds: Double, idleInstances: Double) {
        let buffer = workBuffer
        let perLane = (buffer.minimum + buffer.additional) * 86_400
        var heldSeconds = 0.0
        var unfinished = 0
        for held in try store.results(project: projectURL) where held.state != .ready {
            unfinished += 1
            if let job = try? HeldJob(xml: held.job) {
                heldSeconds += job.workunit.rscFpopsEst / max(facts.flops, 1)
            }
        }
        let wanted = max(perLane, 1) * Double(facts.lanes)
        return (max(wanted - heldSeconds, 0), Double(max(facts.lanes - unfinished, 0)))
    }

    private func fetchMasterPage() async throws {
        let response = try await client.execute(HTTPClientRequest(url: projectURL), timeout: .seconds(60))
        let body = try await response.body.collect(upTo: 1 << 20)
        guard response.status.code == 200 else {
            throw SchedulerClientError("the master page \(projectURL) answered HTTP \(response.status.code)")
        }
        let urls = MasterPage.schedulerURLs(in: String(decoding: body.readableBytesView, as: UTF8.self))
        guard !urls.isEmpty else {
            throw SchedulerClientError("no scheduler URLs found in the master page \(projectURL)")
        }
        project.schedulerURLs = urls
        try store.save(project)
    }

    private func makeRequest(authenticator: String, facts: (lanes: Int, flops: Double)) throws -> SchedulerRequest {
        var request = SchedulerRequest(authenticator: authenticator)
        request.hostID = project.hostID
        request.rpcSequenceNumber = project.rpcSequenceNumber
        request.platformName = dependencies.settings.platform
        request.codeSignKey = project.codeSignKey
        let buffer = workBuffer
        request.workBufferMinimumDays = buffer.minimum
        request.workBufferAdditionalDays = buffer.additional
        request.clientStartTime = startTime
        request.now = WallClock.seconds()
        request.host = HostInformation.describe(
            nodeID: dependencies.nodeID,
            name: dependencies.nodeName,
            processors: facts.lanes,
            flops: facts.flops,
            stateDirectory: dependencies.stateDirectory
        )
        var versions: [SchedulerRequest.HeldAppVersion] = []
        for held in try store.results(project: projectURL) {
            if held.state == .ready, let report = held.report {
                request.results.append(try ReportedResult(fragment: report))
                continue
            }
            guard let job = try? HeldJob(xml: held.job) else { continue }
            let version = SchedulerRequest.HeldAppVersion(
                appName: job.appVersion.appName,
                versionNum: job.appVersion.versionNum,
                platform: job.appVersion.platform,
                flops: facts.flops
            )
            let index = versions.firstIndex(of: version) ?? versions.count
            if index == versions.count { versions.append(version) }
            request.otherResults.append(.init(name: held.name, appVersionIndex: index))
        }
        request.appVersions = versions
        return request
    }

    /// POSTs to each scheduler URL in turn until one answers with a reply that parses.
    private func send(_ request: SchedulerRequest) async throws -> SchedulerReply {
        var problems: [String] = []
        for url in project.schedulerURLs {
            var http = HTTPClientRequest(url: url)
            http.method = .POST
            http.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
            http.headers.add(
                name: "User-Agent",
                value: "BOINC client (\(request.platformName) \(request.coreClientVersionText); Outpost)"
            )
            http.body = .bytes(ByteBuffer(string: request.xml))
            do {
                let response = try await client.execute(http, timeout: .seconds(300))
                let body = try await response.body.collect(upTo: 16 << 20)
                guard (200..<300).contains(response.status.code) else {
                    problems.append("\(url): HTTP \(response.status.code)")
                    continue
                }
                return try SchedulerReply(bytes: Array(body.readableBytesView))
            } catch let error as XMLError {
                dependencies.recordEvent(
                    "schedulerReplyRejected",
                    ["url": .string(url), "error": .string(error.message)]
                )
                problems.append("\(url): the reply is not a scheduler reply: \(error.message)")
            } catch {
                problems.append("\(url): \(error)")
            }
        }
        throw SchedulerClientError("scheduler RPC to \(projectURL) failed: " + problems.joined(separator: "; "))
    }

    private func handle(_ reply: SchedulerReply) throws {
        project.rpcSequenceNumber += 1
        if let hostID = reply.hostID { project.hostID = hostID }
        if let name = reply.projectName { project.name = name }
        if !reply.redirects.isEmpty { project.schedulerURLs = reply.redirects }
        if let key = reply.codeSignKey { try adoptCodeSignKey(key, signature: reply.codeSignKeySignature) }
        if let preferences = reply.globalPreferences { adoptPreferences(preferences) }
        try store.save(project)
        notBefore = .now + .seconds(max(reply.requestDelay ?? 0, 0))
        if let delay = reply.nextRPCDelay, delay > 0 {
            scheduleContact(after: .seconds(delay))
        } else {
            cancelContact()
        }
        for message in reply.messages { relay(message) }
        if reply.projectIsDown {
            backOff(because: "the project is down")
            return
        }
        try store.forget(reply.resultAcks)
        var jobs: [(name: String, xml: String)] = []
        for result in reply.results {
            do {
                jobs.append(
                    (
                        result.name,
                        try HeldJob(result: result, reply: reply, platform: dependencies.settings.platform).xml
                    )
                )
            } catch {
                dependencies.logger.error(
                    "the project sent a job that cannot run",
                    metadata: ["result": "\(result.name)", "error": "\(error)"]
                )
            }
        }
        let added = try store.hold(jobs, project: projectURL, now: WallClock.seconds())
        for name in reply.resultAborts + reply.resultAbortsIfNotStarted {
            guard let held = try store.result(name) else { continue }
            if held.state == .queued && reply.resultAborts.contains(name) {
                // In the lanes: they end the task, and it is reported as aborted like any finished task.
                laneAborts.append(name)
                continue
            }
            guard held.state == .preparing else { continue }
            let report = ReportedResult(
                name: name,
                exitStatus: -221,
                state: .aborted,
                platform: dependencies.settings.platform,
                versionNum: 0,
                stderr: Self.projectAbortReason
            )
            try store.setState(name, .ready, report: report.xmlFragment)
        }
        dependencies.publisher.set(
            ["scheduler", "projects", Self.directoryName(projectURL).replacing("-", with: "_")],
            to: [
                "url": .string(projectURL), "name": .string(project.name ?? ""), "hostId": .integer(project.hostID),
                "lastRpc": .double(WallClock.seconds()), "jobsReceived": .integer(Int64(added.count)),
                "acknowledged": .integer(Int64(reply.resultAcks.count)),
            ]
        )
    }

    /// The work buffer in days: the node's configuration, else the project's preferences, else 0.01 each.
    var workBuffer: (minimum: Double, additional: Double) {
        Self.workBuffer(
            settings: dependencies.settings,
            preferences: project.globalPreferences.flatMap { try? GlobalPreferences(content: $0) }
        )
    }

    static func workBuffer(
        settings: NodeConfiguration.Scheduler,
        preferences: GlobalPreferences?
    ) -> (minimum: Double, additional: Double) {
        let fallback = NodeConfiguration.Scheduler.defaultWorkBufferDays
        return (
            settings.workBufferMinimumDays ?? preferences?.workBufferMinimumDays ?? fallback,
            settings.workBufferAdditionalDays ?? preferences?.workBufferAdditionalDays ?? fallback
        )
    }

    /// Keeps the project's preferences (saved with the project) if they read; ones that do not are an event and a
    /// warning, and the previous ones stay.
    private func adoptPreferences(_ content: String) {
        do {
            _ = try GlobalPreferences(content: content)
            project.globalPreferences = content
        } catch {
            dependencies.logger.warning(
                "the project's preferences do not read; keeping the previous ones",
                metadata: ["project": "\(projectURL)", "error": "\(error)"]
            )
            dependencies.recordEvent(
                "projectPreferencesRejected",
                ["project": .string(projectURL), "error": .string(error.message)]
            )
        }
    }

    /// Trust on first use, as BOINC: the first key is kept; a different key later must be signed by the old one.
    private func adoptCodeSignKey(_ key: String, signature: String?) throws {
        let normalized = { (text: String) in text.filter { !$0.isWhitespace } }
        guard let current = project.codeSignKey else {
            _ = try CodeSigningKey(publicKeyText: key)
            project.codeSignKey = key
            return
        }
        guard normalized(current) != normalized(key) else { return }
        let old = try CodeSigningKey(publicKeyText: current)
        let newMD5 = Hex.encode(MessageDigest.hash(.md5, Array(key.utf8)))
        guard let signature, old.verify(signatureText: signature, md5: newMD5) else {
            dependencies.logger.error(
                "the project sent a new code-signing key without a valid signature; keeping the old one"
            )
            dependencies.recordEvent("codeSignKeyRejected", ["project": .string(projectURL)])
            return
        }
        project.codeSignKey = key
    }

    /// A project's message: in the event log and the journal; high priority ones at warning level.
    private func relay(_ message: SchedulerReply.Message) {
        let fields: [String: JSONValue] = [
            "project": .string(projectURL), "priority": .string(message.priority), "text": .string(message.text),
        ]
        dependencies.recordEvent("projectMessage", fields)
        if message.priority == "high" {
            dependencies.logger.warning(
                "message from the project",
                metadata: ["project": "\(projectURL)", "text": "\(message.text)"]
            )
        } else {
            dependencies.logger.info(
                "message from the project",
                metadata: ["project": "\(projectURL)", "text": "\(message.text)"]
            )
        }
    }

    /// `backoff_min` … `backoff_max` (60 s … 4 h), doubling per failure, with full jitter; after 10 failures the
    /// master page is read again.
    func backOff(because reason: String) {
        failures += 1
        let minimum = dependencies.settings.backoffMinimumSeconds
        let ceiling = min(minimum * Double(1 << min(failures - 1, 12)), dependencies.settings.backoffMaximumSeconds)
        let delay = max(Double.random(in: 0...max(ceiling, minimum)), minimum)
        notBefore = .now + .seconds(delay)
        if failures % 10 == 0 {
            project.schedulerURLs = []
            try? store.save(project)
        }
        dependencies.logger.warning(
            "scheduler RPC failed; backing off",
            metadata: ["project": "\(projectURL)", "reason": "\(reason)", "retry_seconds": "\(Int(delay))"]
        )
    }
}
