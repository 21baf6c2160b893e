import NIOPosix
import OutpostCore
import OutpostFiles
import OutpostRPC

#if canImport(Glibc)
import Glibc
#endif

/// Holds every asynchronous request of this process: it gives out ids, runs the work on a bounded pool of threads of
/// its own, keeps results until they expire, and answers status and result calls.
///
/// File operations block in system calls, so they run on a dedicated `NIOThreadPool`, never on Swift's cooperative
/// threads: ten slow `du`s occupy ten pool slots at most and leave the control socket answering. Each request is a
/// state machine (`FileRequest.State`) whose transitions happen only here, inside the actor.
actor RequestRegistry {
    struct Settings: Sendable, Equatable {
        var timeLimitSeconds: Int64 = 3600
        var intervalSeconds: Int64 = 300
    }

    private var requests: [Int64: FileRequest] = [:]
    private var waiters: [Int64: [Int: CheckedContinuation<Void, Never>]] = [:]
    /// Unfinished requests per uid, kept in step with `requests` so the per-user cap costs nothing to check.
    private var unfinishedByUser: [UInt32: Int] = [:]
    private var nextID: Int64 = 1
    private var nextWaiterID = 0
    private let pool: NIOThreadPool
    private let maximumPendingPerUser: Int
    private(set) var settings = Settings()

    init(workers: Int, maximumPendingPerUser: Int, settings: Settings) {
        pool = NIOThreadPool(numberOfThreads: workers)
        pool.start()
        self.maximumPendingPerUser = maximumPendingPerUser
        self.settings = settings
    }

    func shutdown() async {
        for id in requests.keys { requests[id]?.control.cancel() }
        try? await pool.shutdownGracefully()
    }

    /// Queues `work` for `owner` and returns its id at once.
    func submit(
        method: String,
        owner: CallerIdentity,
        work: @escaping @Sendable (OperationControl) throws(FileOperationError) -> JSONValue
    ) throws(RPCError) -> Int64 {
        let pending = unfinishedByUser[owner.uid, default: 0]
        guard pending < maximumPendingPerUser else {
            throw .limitExceeded(
                "\(owner.userName) has \(pending) unfinished requests (the limit is \(maximumPendingPerUser)); "
                    + "wait for some to finish or cancel them"
            )
        }
        let id = nextID
        nextID += 1
        unfinishedByUser[owner.uid, default: 0] += 1
        let control = OperationControl()
        requests[id] = FileRequest(
            id: id,
            method: method,
            owner: owner,
            created: Self.now(),
            state: .queued,
            control: control
        )
        Task { await self.execute(id, control: control, work: work) }
        return id
    }

    private func execute(
        _ id: Int64,
        control: OperationControl,
        work: @escaping @Sendable (OperationControl) throws(FileOperationError) -> JSONValue
    ) async {
        guard case .queued = requests[id]?.state else { return }  // cancelled while queued
        requests[id]?.state = .running
        let outcome: Result<JSONValue, FileOperationError>
        do {
            outcome = try await pool.runIfActive { () -> Result<JSONValue, FileOperationError> in
                do throws(FileOperationError) {
                    return .success(try work(control))
                } catch {
                    return .failure(error)
                }
            }
        } catch {
            outcome = .failure(FileOperationError(.cancelled, path: "", message: "the daemon is shutting down"))
        }
        switch outcome {
        case .success(let value): finish(id, .succeeded(value))
        case .failure(let error) where error.code == .cancelled: finish(id, .cancelled)
        case .failure(let error): finish(id, .failed(RPCError(fileError: error)))
        }
    }

    private func finish(_ id: Int64, _ state: FileRequest.State) {
        guard var request = requests[id], !request.state.isFinished else { return }
        request.state = state
        request.finished = Self.now()
        requests[id] = request
        unfinishedByUser[request.owner.uid, default: 1] -= 1
        if unfinishedByUser[request.owner.uid] == 0 { unfinishedByUser.removeValue(forKey: request.owner.uid) }
        for waiter in (waiters.removeValue(forKey: id) ?? [:]).values { waiter.resume() }
    }

    /// The request, if the caller may see it: its owner, or a superuser. Others get the same answer as for an id that
    /// never existed, so ids reveal nothing about other users.
    private func visibleRequest(_ id: Int64, to caller: CallerIdentity, superuser: Bool) throws(RPCError) -> FileRequest
    {
        guard let request = requests[id], superuser || request.owner.uid == caller.uid else {
            throw .notFound("request \(id) not found (expired or never issued)")
        }
        return request
    }

    func status(_ id: Int64, caller: CallerIdentity, superuser: Bool) throws(RPCError) -> JSONValue {
        try visibleRequest(id, to: caller, superuser: superuser).statusJSON
    }

    /// Waits up to `timeout` (forever when nil) for the request to finish, then returns its result or throws its error.
    func result(
        _ id: Int64,
        caller: CallerIdentity,
        superuser: Bool,
        timeout: Duration?
    ) async throws(RPCError)
        -> JSONValue
    {
        var request = try visibleRequest(id, to: caller, superuser: superuser)
        if !request.state.isFinished {
            await waitForFinish(id, timeout: timeout)
            request = try visibleRequest(id, to: caller, superuser: superuser)
        }
        switch request.state {
        case .succeeded(let value): return value
        case .failed(let error): throw error
        case .cancelled: throw RPCError(code: RPCError.invalidStateCode, message: "request \(id) was cancelled")
        case .queued, .running:
            throw RPCError(code: RPCError.invalidStateCode, message: "request \(id) is still pending; ask again later")
        }
    }

    private func waitForFinish(_ id: Int64, timeout: Duration?) async {
        let waiterID = nextWaiterID
        nextWaiterID += 1
        if let timeout {
            Task {
                try? await Task.sleep(for: timeout)
                self.wakeWaiter(id, waiterID)
            }
        }
        await withCheckedContinuation { continuation in
            waiters[id, default: [:]][waiterID] = continuation
        }
    }

    private func wakeWaiter(_ id: Int64, _ waiterID: Int) {
        waiters[id]?.removeValue(forKey: waiterID)?.resume()
    }

    func cancel(_ id: Int64, caller: CallerIdentity, superuser: Bool) throws(RPCError) {
        let request = try visibleRequest(id, to: caller, superuser: superuser)
        request.control.cancel()
        if case .queued = request.state { finish(id, .cancelled) }
    }

    func list(caller: CallerIdentity, superuser: Bool) -> JSONValue {
        let visible = requests.values.filter { superuser || $0.owner.uid == caller.uid }.sorted { $0.id < $1.id }
        return .array(visible.map(\.statusJSON))
    }

    /// Removes finished requests older than the time limit (all finished ones with `force`). Returns how many.
    @discardableResult
    func collectGarbage(force: Bool) -> Int {
        let cutoff = Self.now() - Double(settings.timeLimitSeconds)
        let expired = requests.values.filter { request in
            guard let finished = request.finished else { return false }
            return force || finished <= cutoff
        }.map(\.id)
        for id in expired { requests.removeValue(forKey: id) }
        return expired.count
    }

    func updateSettings(_ new: Settings) {
        settings = new
    }

    static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
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
