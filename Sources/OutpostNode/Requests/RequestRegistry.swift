import NIOPosix
import OutpostCore
import OutpostFiles
import OutpostRPC
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Holds every asynchronous request of this process: it gives out ids, runs the work on a bounded pool of threads of
/// its own, keeps results until they expire, answers status and result calls, and logs each request's life.
///
/// File operations block in system calls, so they run on a dedicated `NIOThreadPool`, never on Swift's cooperative
/// threads: ten slow `du`s occupy ten pool slots at most and leave the control socket answering. Each request is a
/// state machine (`FileRequest.State`) whose transitions happen only here, inside the actor.
actor RequestRegistry {
    struct Settings: Sendable, Equatable {
        var timeLimitSeconds: Int64 = 3600
        var intervalSeconds: Int64 = 300
    }

    /// One accepted request on its way to a worker.
    struct Job: Sendable {
        let id: Int64
        let control: OperationControl
        let work: Work
    }

    /// What a request does: file work blocks in system calls and runs on the pool; network work (a call to the
    /// coordinator) awaits and runs as a plain child task.
    enum Work: Sendable {
        case blocking(@Sendable (OperationControl) throws(FileOperationError) -> RPCResult)
        case network(@Sendable () async throws(RPCError) -> JSONValue)
    }

    private let table: Mutex<RequestTable>
    private var waiters: [Int64: [Int: CheckedContinuation<Void, Never>]] = [:]
    private var nextWaiterID = 0
    /// Waiters whose timer fired before they began to wait.
    private var expiredWaiters: Set<Int> = []
    private let pool: NIOThreadPool
    private let maximumPendingPerUser: Int
    private let events: EventLog
    private let jobs: AsyncStream<Job>
    private let intake: AsyncStream<Job>.Continuation
    private(set) var settings = Settings()

    /// `retention` bounds what one user's finished results hold in memory (see `RequestTable.Retention`).
    init(
        workers: Int,
        maximumPendingPerUser: Int,
        retention: RequestTable.Retention,
        settings: Settings,
        events: EventLog
    ) {
        pool = NIOThreadPool(numberOfThreads: workers)
        pool.start()
        self.maximumPendingPerUser = maximumPendingPerUser
        table = Mutex(RequestTable(retention: retention))
        self.settings = settings
        self.events = events
        (jobs, intake) = AsyncStream.makeStream(of: Job.self)
    }

    /// Runs every submitted job, each as a child task of this call, until this task is cancelled (at shutdown).
    /// Cancelling a child cancels its operation, so a running `rm` stops at its next entry. `RequestRunner` runs this
    /// in the daemon's service group.
    nonisolated func runJobs() async {
        await withDiscardingTaskGroup { group in
            for await job in jobs {
                group.addTask {
                    await withTaskCancellationHandler {
                        await self.execute(job)
                    } onCancel: {
                        job.control.cancel()
                    }
                }
            }
            intake.finish()  // later submissions fail at once rather than wait forever
        }
        try? await pool.shutdownGracefully()
    }

    /// Queues `work` for `owner` and returns its id at once. `summary` (the paths) goes into the event log.
    func submit(
        method: String,
        owner: CallerIdentity,
        summary: [String: JSONValue] = [:],
        work: @escaping @Sendable (OperationControl) throws(FileOperationError) -> RPCResult
    ) throws(RPCError) -> Int64 {
        try submit(method: method, owner: owner, summary: summary, work: .blocking(work))
    }

    /// Queues an asynchronous request that awaits the network rather than blocking a pool thread.
    func submitNetwork(
        method: String,
        owner: CallerIdentity,
        summary: [String: JSONValue] = [:],
        work: @escaping @Sendable () async throws(RPCError) -> JSONValue
    ) throws(RPCError) -> Int64 {
        try submit(method: method, owner: owner, summary: summary, work: .network(work))
    }

    private func submit(
        method: String,
        owner: CallerIdentity,
        summary: [String: JSONValue],
        work: Work
    ) throws(RPCError) -> Int64 {
        let control = OperationControl()
        let limit = maximumPendingPerUser
        let id = try table.withLock { table throws(RPCError) -> Int64 in
            let pending = table.unfinishedByUser[owner.uid, default: 0]
            guard pending < limit else {
                throw .limitExceeded(
                    "\(owner.userName) has \(pending) unfinished requests (the limit is \(limit)); "
                        + "wait for some to finish or cancel them"
                )
            }
            return table.add { id in
                FileRequest(id: id, method: method, owner: owner, created: Self.now(), state: .queued, control: control)
            }
        }
        recordSubmission(id, method: method, owner: owner, summary: summary)
        if case .terminated = intake.yield(Job(id: id, control: control, work: work)) {
            finish(id, .failed(RPCError(code: RPCError.invalidStateCode, message: "the daemon is shutting down")))
        }
        return id
    }

    /// Records a request that was carried out as it was submitted (a small listing, on the event loop): it gets an
    /// id and is logged like any other, but never waits in the queue, so the per-user cap of unfinished requests does
    /// not apply. Returns its id.
    nonisolated func recordFinished(
        method: String,
        owner: CallerIdentity,
        summary: [String: JSONValue],
        outcome: Result<RPCResult, FileOperationError>,
        control: OperationControl
    ) -> Int64 {
        let state: FileRequest.State
        switch outcome {
        case .success(let result): state = .succeeded(result)
        case .failure(let error): state = .failed(RPCError(fileError: error))
        }
        let now = Self.now()
        let id = table.withLock { table in
            table.add { id in
                FileRequest(
                    id: id,
                    method: method,
                    owner: owner,
                    created: now,
                    finished: now,
                    state: state,
                    control: control
                )
            }
        }
        events.record(
            [
                ("requestSubmitted", Self.submissionFields(id, method: method, summary: summary)),
                Self.endEvent(id, method: method, state: state),
            ],
            owner: owner
        )
        return id
    }

    /// The result of a finished request the caller may see, or nil while it is unfinished (then `result` waits for
    /// it). Errors as `result` gives them.
    nonisolated func finishedResult(
        _ id: Int64,
        caller: CallerIdentity,
        superuser: Bool
    ) throws(RPCError)
        -> RPCResult?
    {
        let request = try visibleRequest(id, to: caller, superuser: superuser)
        return request.state.isFinished ? try Self.outcome(of: request) : nil
    }

    private func execute(_ job: Job) async {
        let started = table.withLock { $0.start(job.id) }
        guard started else { return }
        let blocking: @Sendable (OperationControl) throws(FileOperationError) -> RPCResult
        switch job.work {
        case .blocking(let work):
            blocking = work
        case .network(let work):
            do throws(RPCError) {
                finish(job.id, .succeeded(.value(try await work())))
            } catch {
                finish(job.id, Task.isCancelled ? .cancelled : .failed(error))
            }
            return
        }
        let outcome: Result<RPCResult, FileOperationError>
        do {
            outcome = try await pool.runIfActive { () -> Result<RPCResult, FileOperationError> in
                do throws(FileOperationError) {
                    return .success(try blocking(job.control))
                } catch {
                    return .failure(error)
                }
            }
        } catch {
            outcome = .failure(FileOperationError(.cancelled, path: "", message: "the daemon is shutting down"))
        }
        switch outcome {
        case .success(let value): finish(job.id, .succeeded(value))
        case .failure(let error) where error.code == .cancelled: finish(job.id, .cancelled)
        case .failure(let error): finish(job.id, .failed(RPCError(fileError: error)))
        }
    }

    private func finish(_ id: Int64, _ state: FileRequest.State) {
        let finished = table.withLock { $0.finish(id, state, at: Self.now()) }
        guard let finished else { return }
        recordEnd(id, method: finished.method, owner: finished.owner, state: state)
        for waiter in (waiters.removeValue(forKey: id) ?? [:]).values { waiter.resume() }
    }

    /// `requestSubmitted`, with the request's paths (`summary`) for the event log.
    private nonisolated func recordSubmission(
        _ id: Int64,
        method: String,
        owner: CallerIdentity,
        summary: [String: JSONValue]
    ) {
        events.record("requestSubmitted", owner: owner, Self.submissionFields(id, method: method, summary: summary))
    }

    private nonisolated func recordEnd(_ id: Int64, method: String, owner: CallerIdentity, state: FileRequest.State) {
        let (name, fields) = Self.endEvent(id, method: method, state: state)
        events.record(name, owner: owner, fields)
    }

    private static func submissionFields(
        _ id: Int64,
        method: String,
        summary: [String: JSONValue]
    ) -> [String: JSONValue] {
        var fields = summary
        fields["requestId"] = .integer(id)
        fields["method"] = .string(method)
        return fields
    }

    /// `requestCompleted`, `requestFailed` (with the error's message) or `requestCancelled`.
    private static func endEvent(
        _ id: Int64,
        method: String,
        state: FileRequest.State
    ) -> (name: String, fields: [String: JSONValue]) {
        var fields: [String: JSONValue] = ["requestId": .integer(id), "method": .string(method)]
        switch state {
        case .failed(let error):
            fields["errorMessage"] = .string(error.message)
            return ("requestFailed", fields)
        case .cancelled: return ("requestCancelled", fields)
        default: return ("requestCompleted", fields)
        }
    }

    /// The request, if the caller may see it: its owner, or a superuser. Others get the same answer as for an id that
    /// never existed, so ids reveal nothing about other users.
    private nonisolated func visibleRequest(
        _ id: Int64,
        to caller: CallerIdentity,
        superuser: Bool
    ) throws(RPCError) -> FileRequest {
        guard let request = table.withLock({ $0.requests[id] }), superuser || caller.sharesRequests(with: request.owner)
        else {
            throw .notFound("request \(id) not found (expired or never issued)")
        }
        return request
    }

    /// A finished request's result, or its error.
    private static func outcome(of request: FileRequest) throws(RPCError) -> RPCResult {
        switch request.state {
        case .succeeded(let value): return value
        case .failed(let error): throw error
        case .cancelled:
            throw RPCError(code: RPCError.invalidStateCode, message: "request \(request.id) was cancelled")
        case .queued, .running:
            throw RPCError(
                code: RPCError.invalidStateCode,
                message: "request \(request.id) is still pending; ask again later"
            )
        }
    }

    nonisolated func status(_ id: Int64, caller: CallerIdentity, superuser: Bool) throws(RPCError) -> JSONValue {
        try visibleRequest(id, to: caller, superuser: superuser).statusJSON
    }

    /// Waits up to `timeout` (forever when nil) for the request to finish, then returns its result or throws its error.
    func result(
        _ id: Int64,
        caller: CallerIdentity,
        superuser: Bool,
        timeout: Duration?
    ) async throws(RPCError)
        -> RPCResult
    {
        var request = try visibleRequest(id, to: caller, superuser: superuser)
        if !request.state.isFinished {
            await waitForFinish(id, timeout: timeout)
            request = try visibleRequest(id, to: caller, superuser: superuser)
        }
        return try Self.outcome(of: request)
    }

    /// Suspends until the request finishes, or until `timeout` passes. The timer is a child task, so a waiter that
    /// returns early leaves nothing behind.
    private func waitForFinish(_ id: Int64, timeout: Duration?) async {
        let waiterID = nextWaiterID
        nextWaiterID += 1
        guard let timeout else { return await suspend(id, waiterID) }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.suspend(id, waiterID) }
            group.addTask {
                guard (try? await Task.sleep(for: timeout)) != nil else { return }  // the request finished first
                await self.wakeWaiter(id, waiterID)
            }
            await group.next()
            group.cancelAll()
        }
    }

    private func suspend(_ id: Int64, _ waiterID: Int) async {
        // The timer may have fired before this ran on the actor: then there is nothing to wait for.
        if expiredWaiters.remove(waiterID) != nil { return }
        guard let request = table.withLock({ $0.requests[id] }), !request.state.isFinished else { return }
        await withCheckedContinuation { continuation in
            waiters[id, default: [:]][waiterID] = continuation
        }
    }

    private func wakeWaiter(_ id: Int64, _ waiterID: Int) {
        if let waiter = waiters[id]?.removeValue(forKey: waiterID) {
            waiter.resume()
        } else if table.withLock({ $0.requests[id].map { !$0.state.isFinished } }) ?? false {
            expiredWaiters.insert(waiterID)
        }
    }

    func cancel(_ id: Int64, caller: CallerIdentity, superuser: Bool) throws(RPCError) {
        let request = try visibleRequest(id, to: caller, superuser: superuser)
        request.control.cancel()
        if case .queued = request.state { finish(id, .cancelled) }
    }

    func list(caller: CallerIdentity, superuser: Bool) -> JSONValue {
        let visible = table.withLock { table in
            table.requests.values.filter { superuser || caller.sharesRequests(with: $0.owner) }
        }
        return .array(visible.sorted { $0.id < $1.id }.map(\.statusJSON))
    }

    /// Removes finished requests older than the time limit (all finished ones with `force`). Returns how many.
    @discardableResult
    func collectGarbage(force: Bool) -> Int {
        let cutoff = Self.now() - Double(settings.timeLimitSeconds)
        return table.withLock { table in
            let expired = table.requests.values.filter { request in
                guard let finished = request.finished else { return false }
                return force || finished <= cutoff
            }.map(\.id)
            table.remove(expired)
            return expired.count
        }
    }

    func updateSettings(_ new: Settings) {
        settings = new
    }

    nonisolated static func now() -> Double { WallClock.seconds() }
}

extension RPCError {
    /// A file error as the caller sees it, with a code that says what kind of failure it was.
    init(fileError: FileOperationError) {
        let code: Int
        switch fileError.code {
        case .notFound, .unknownRoot: code = RPCError.notFoundCode
        case .permissionDenied, .escapesSandbox: code = RPCError.permissionDeniedCode
        case .invalidPath: code = RPCError.invalidParamsCode
        case .refused, .cancelled: code = RPCError.invalidStateCode
        default: code = RPCError.operationFailedCode
        }
        var data: [String: JSONValue] = ["kind": .string(fileError.code.description), "path": .string(fileError.path)]
        if let errno = fileError.errno { data["errno"] = .integer(Int64(errno)) }
        self.init(code: code, message: fileError.message, data: .object(data))
    }
}
