import AsyncHTTPClient
import Logging
import NIOCore
import OutpostCore
import OutpostCrypto
import OutpostLanes
import OutpostRPC
import OutpostScheduler
import OutpostState
import OutpostTransfers

#if canImport(Glibc)
import Glibc
#endif

/// The node's BOINC scheduler client: a `WorkSource` for the lanes.
///
/// `fetchWork` makes a scheduler RPC asking for enough work for the idle lanes (and reporting whatever is ready),
/// downloads and verifies each job's files, and hands the jobs to the lanes. `report` uploads a finished task's
/// outputs and reports it, and returns only once the project acknowledged it; until then the lanes keep the result and
/// ask again. RPCs are serialised, always honour the project's `request_delay`, and back off (60 s … 4 h, exponential
/// with full jitter) after failures.
actor SchedulerClient: WorkSource {
    struct Dependencies: Sendable {
        var settings: NodeConfiguration.Scheduler
        var stateDirectory: String
        var nodeID: String
        var nodeName: String
        /// The authenticator to send: the configured file's, or the node's coordinator credentials.
        var authenticator: @Sendable () -> String?
        /// Lanes and the per-lane floating-point speed, as the host description tells the project.
        var hostFacts: @Sendable () async -> (lanes: Int, flops: Double)
        /// The references of this source's tasks the lanes hold; nil while the lanes are not up.
        var laneReferences: @Sendable (String) async -> Set<String>?
        /// Tells the lanes this source (by name) has work now: a report's RPC brought some.
        var workArrived: @Sendable (String) async -> Void
        /// Aborts the lanes' task for (source, reference, reason); false when they hold none unfinished.
        var abortTask: @Sendable (String, String, String) async -> Bool
        var publisher: StatePublisher
        var recordEvent: @Sendable (String, [String: JSONValue]) -> Void
        var logger: Logger
    }

    nonisolated let name: String
    let dependencies: Dependencies
    let projectURL: String
    let store: SchedulerStore
    let transfers: FileTransfers
    let client: HTTPClient
    let projectDirectory: String
    var project: SchedulerStore.Project
    var notBefore = ContinuousClock.now
    var failures = 0
    var rpcBusy = false
    /// The RPC the project asked for with `next_rpc_delay` (BOINC projects use it to reach hosts that need nothing).
    var contactTask: Task<Void, Never>?
    var contactGeneration = 0
    /// True while the planned RPC runs: its own task is not cancelled by the reply it gets.
    var contacting = false
    /// Results the last reply aborted that the lanes hold: ended once the reply is handled.
    var laneAborts: [String] = []
    static let projectAbortReason = "aborted by the project"
    private var reconciled = false
    private var emptyFetches = 0
    let startTime = WallClock.seconds()

    init(_ dependencies: Dependencies, projectURL: String, limiter: BandwidthLimiter) throws {
        self.dependencies = dependencies
        self.projectURL = projectURL
        name = "boinc:" + projectURL
        store = try SchedulerStore(path: dependencies.stateDirectory + "/scheduler.sqlite")
        project = try store.project(projectURL)
        projectDirectory = dependencies.stateDirectory + "/projects/" + Self.directoryName(projectURL)
        for directory in [dependencies.stateDirectory + "/projects", projectDirectory] {
            guard mkdir(directory, 0o750) == 0 || errno == EEXIST else {
                throw SchedulerClientError("cannot make \(directory): \(String(cString: strerror(errno)))")
            }
        }
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: .seconds(30), read: .seconds(120))
        configuration.redirectConfiguration = .follow(max: 3, allowCycles: false)
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        transfers = FileTransfers(client: client, limiter: limiter)
    }

    /// BOINC names a project's directory after its URL without the scheme, `/` turned to `_`.
    static func directoryName(_ url: String) -> String {
        var text = Substring(url)
        if let scheme = text.firstRange(of: "://") { text = text[scheme.upperBound...] }
        while text.hasSuffix("/") { text = text.dropLast() }
        return String(text.map { $0 == "/" || $0 == ":" ? "_" : $0 })
    }

    func shutdown() async {
        contactTask?.cancel()
        contactGeneration += 1
        try? await client.shutdown()
    }

    // MARK: WorkSource

    func fetchWork(idleLanes: Int) async throws -> WorkFetch {
        try await reconcileWithLanes()
        var items = try await preparedItems()
        if !items.isEmpty { return WorkFetch(items: items, retryAfter: .seconds(1)) }
        let wait = notBefore - .now
        guard wait <= .zero else { return WorkFetch(items: [], retryAfter: wait) }
        let reply: SchedulerReply?
        do {
            reply = try await rpc(facts: await dependencies.hostFacts())
        } catch is NotEnrolledYet {
            return WorkFetch(items: [], retryAfter: .seconds(2))
        } catch {
            // This client's own back-off (60 s … 4 h) decides when to ask again, not the lanes'.
            return WorkFetch(items: [], retryAfter: max(notBefore - .now, .seconds(1)))
        }
        items = try await preparedItems()
        guard items.isEmpty else {
            emptyFetches = 0
            return WorkFetch(items: items, retryAfter: .seconds(1))
        }
        emptyFetches += 1
        return WorkFetch(items: [], retryAfter: max(notBefore - .now, noWorkDelay(reply)))
    }

    /// After RPCs that brought no work, ask again after 1 s, doubling per empty answer up to 60 s (and never before
    /// the project's delays): a job submitted to an idle project starts within a minute, new work after a busy spell
    /// within seconds, and an idle fleet does not poll its project every second. (BOINC waits 10 minutes and more.)
    private func noWorkDelay(_ reply: SchedulerReply?) -> Duration {
        let doubling = min(Double(1 << min(emptyFetches - 1, 6)), 60)
        return .seconds(max(reply?.requestDelay ?? 0, reply?.nextRPCDelay ?? 0, doubling))
    }

    // MARK: Jobs

    /// Once per start: a result handed to the lanes just before a crash may never have reached their store; it is
    /// prepared again (its files are already here) rather than held forever.
    private func reconcileWithLanes() async throws {
        guard !reconciled, let held = await dependencies.laneReferences(name) else { return }
        reconciled = true
        for result in try store.results(project: projectURL, state: .queued) where !held.contains(result.name) {
            dependencies.logger.notice(
                "a job the lanes never received is queued again",
                metadata: ["result": "\(result.name)"]
            )
            try store.setState(result.name, .preparing)
        }
    }

    /// Downloads the files of held jobs still `preparing`, and returns those now ready as lane tasks.
    private func preparedItems() async throws -> [WorkItem] {
        let preparing = try store.results(project: projectURL, state: .preparing)
        guard !preparing.isEmpty else { return [] }
        let key = try project.codeSignKey.map { try CodeSigningKey(publicKeyText: $0) }
        let flops = await dependencies.hostFacts().flops
        var items: [WorkItem] = []
        for held in preparing {
            let job: HeldJob
            do {
                job = try HeldJob(xml: held.job)
            } catch {
                try failBeforeStart(held.name, code: -108, message: "the stored job does not parse: \(error)")
                continue
            }
            do {
                try await download(job.inputFiles, signingKey: key)
            } catch {
                if error.permanent {
                    try failBeforeStart(held.name, code: error.code, message: error.message)
                    continue
                }
                dependencies.logger.warning(
                    "download failed; retrying later",
                    metadata: ["result": "\(held.name)", "error": "\(error)"]
                )
                continue
            }
            let specification = TaskPreparation.specification(
                for: job,
                projectDirectory: projectDirectory,
                hostFlops: flops
            )
            try store.setState(held.name, .queued)
            items.append(WorkItem(specification: specification, reference: held.name))
        }
        return items
    }

    /// At most `max_concurrent_transfers` downloads at once.
    private func download(_ files: [FileInfo], signingKey: CodeSigningKey?) async throws(TransferError) {
        let transfers = self.transfers
        let directory = projectDirectory
        let limit = max(dependencies.settings.maximumConcurrentTransfers, 1)
        let failure: TransferError? = await withTaskGroup(of: TransferError?.self) { group in
            var pending = files[...]
            var running = 0
            var first: TransferError?
            while !pending.isEmpty || running > 0 {
                while running < limit, let file = pending.popFirst() {
                    running += 1
                    group.addTask {
                        do {
                            try await transfers.download(file, into: directory, signingKey: signingKey)
                            return nil
                        } catch let error as TransferError {
                            return error
                        } catch {
                            return .transient("\(error)")
                        }
                    }
                }
                if let outcome = await group.next() {
                    running -= 1
                    if let outcome, first == nil || outcome.permanent { first = outcome }
                }
            }
            return first
        }
        if let failure { throw failure }
    }

    /// A job that cannot start (a bad download, a missing signature) is reported as an error, as BOINC does.
    private func failBeforeStart(_ name: String, code: Int64, message: String) throws {
        dependencies.logger.error("a job cannot run", metadata: ["result": "\(name)", "reason": "\(message)"])
        dependencies.recordEvent("jobRefused", ["result": .string(name), "reason": .string(message)])
        let report = ReportedResult(
            name: name,
            exitStatus: code,
            state: .computeError,
            platform: dependencies.settings.platform,
            versionNum: 0,
            stderr:
                "<file_xfer_error>\n  <error_code>\(code)</error_code>\n  <error_message>\(message)</error_message>\n</file_xfer_error>"
        )
        try store.setState(name, .ready, report: report.xmlFragment)
    }
}

/// The node has no authenticator yet: it has not enrolled with its coordinator.
struct NotEnrolledYet: Error {}

struct SchedulerClientError: Error, Sendable, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}
