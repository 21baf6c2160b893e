import Logging
import OutpostCheckin
import OutpostCore
import OutpostLanes
import OutpostRPC
import OutpostService
import OutpostState
import OutpostTransfers
import ServiceLifecycle

#if canImport(Glibc)
import Glibc
#endif

/// Keeps this node known to its coordinator: enrolls once with a token, then checks in every interval with the
/// machine's metrics and lanes, and applies the status that comes back (a disabled node starts no new task).
///
/// It never stops the rest of the daemon: an unreachable or failing coordinator (no answer, 5xx) means exponential
/// back-off with jitter up to ten minutes while everything else runs on. A refusal (4xx: revoked secret, bad token)
/// is logged loudly, shown in `outpostctl coordinator`, and not retried until something changes (a new key through
/// `setLicenseKeyAsync`, or an hour), so a fleet of revoked nodes cannot storm the coordinator.
actor CheckinService: Service {
    struct Dependencies: Sendable {
        var settings: NodeConfiguration.Coordinator
        var stateDirectory: String
        var nodeName: String
        var supervisor: LaneSupervisor
        /// Paused while the coordinator disables the node: no transfer moves then.
        var limiter: BandwidthLimiter
        var publisher: StatePublisher
        var recordEvent: @Sendable (String, [String: JSONValue]) -> Void
        var logger: Logger
    }

    /// Where the node stands with its coordinator; `coordinator.state` in the state tree.
    enum Phase: String {
        case unconfigured
        case waitingForToken
        case enrolled
        case unreachable
        case refused
    }

    static let backoffBase: Duration = .seconds(5)
    static let backoffCap: Duration = .seconds(600)
    /// How long a refused node waits before trying again on its own.
    static let refusedRetry: Duration = .seconds(3600)

    private let dependencies: Dependencies
    private var logger: Logger { dependencies.logger }
    private var connection: CoordinatorConnection?
    private var credentials: CoordinatorCredentials?
    private var metrics = SystemMetrics()
    private lazy var traffic = TrafficMeter(limiter: dependencies.limiter)
    private var failures = 0
    private var state: [String: JSONValue] = [:]
    private let wakeups: AsyncStream<Void>
    private let wakeup: AsyncStream<Void>.Continuation

    init(_ dependencies: Dependencies) {
        self.dependencies = dependencies
        (wakeups, wakeup) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Checks in now (after a new enrollment key, say) instead of at the next interval.
    nonisolated func wake() { wakeup.yield() }

    func run() async throws {
        guard let url = dependencies.settings.url else {
            publish(phase: .unconfigured, ["error": .null])
            try? await gracefulShutdown()
            return
        }
        do {
            connection = try CoordinatorConnection(baseURL: url, caFile: dependencies.settings.caFile)
            credentials = try CoordinatorCredentials.load(stateDirectory: dependencies.stateDirectory)
        } catch {
            logger.error("cannot use the coordinator settings", metadata: ["error": "\(error)"])
            publish(phase: .refused, ["error": .string("\(error)")])
            try? await gracefulShutdown()
            return
        }
        if let known = credentials, known.url != url {
            logger.notice("the coordinator URL changed; enrolling with the new one", metadata: ["url": "\(url)"])
            credentials = nil
        }
        publish(phase: credentials == nil ? .waitingForToken : .enrolled, ["url": .string(url)])
        var iterator = wakeups.makeAsyncIterator()
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let delay = await cycle(url: url)
            state["nextCheckin"] = .double(Self.now() + Double(delay.components.seconds))
            dependencies.publisher.set(["coordinator"], to: .object(state))
            // Waits for the delay or a wake-up, whichever is first: the timer is a child task that wakes the same
            // stream, so this task stays its only reader. Graceful shutdown wakes it too, and the loop ends.
            let wakeup = self.wakeup
            await withGracefulShutdownHandler {
                await withTaskGroup(of: Void.self) { group in
                    group.addTask {
                        if (try? await Task.sleep(for: delay)) != nil { wakeup.yield() }
                    }
                    _ = await iterator.next()
                    group.cancelAll()
                }
            } onGracefulShutdown: {
                wakeup.yield()
            }
        }
        await connection?.shutdown()
    }

    /// One enrollment or check-in; returns how long to wait before the next.
    private func cycle(url: String) async -> Duration {
        guard let connection else { return Self.refusedRetry }
        laneSnapshot = await dependencies.supervisor.laneBenchmarks
        let report = makeReport()
        do throws(CoordinatorCallError) {
            let reply: CheckinReply
            if let credentials {
                let json = try await connection.post(
                    CheckinProtocol.checkinPath,
                    body: report.json,
                    authorization: CheckinProtocol.authorization(
                        clientID: credentials.clientID,
                        secret: credentials.secret
                    )
                )
                reply = try Self.decode(json)
            } else {
                guard let token = enrollmentToken() else {
                    publish(
                        phase: .waitingForToken,
                        [
                            "error": .string(
                                "no enrollment token: put one in enrollment_token_file or set it with "
                                    + "setLicenseKeyAsync (outpost-coordinator token create)"
                            )
                        ]
                    )
                    return .seconds(60)
                }
                let json = try await connection.post(
                    CheckinProtocol.enrollPath,
                    body: ["token": .string(token), "client": report.json]
                )
                reply = try Self.decode(json)
                guard let secret = json["secret"]?.stringValue else {
                    throw CoordinatorCallError(kind: .malformedReply, message: "the enrollment answer has no secret")
                }
                let new = CoordinatorCredentials(url: url, clientID: reply.id, secret: secret)
                do {
                    try new.save(stateDirectory: dependencies.stateDirectory)
                } catch {
                    logger.error("cannot keep the enrollment; will enroll again", metadata: ["error": "\(error)"])
                    return backoff()
                }
                credentials = new
                StateDirectory.remove(dependencies.stateDirectory + "/" + CoordinatorCredentials.tokenFileName)
                logger.notice(
                    "enrolled with the coordinator",
                    metadata: ["client": "\(reply.id)", "site": "\(reply.site)"]
                )
                dependencies.recordEvent(
                    "coordinatorEnrolled",
                    ["clientId": .string(reply.id), "site": .string(reply.site)]
                )
            }
            await apply(reply)
            failures = 0
            let interval = reply.interval
            // ±10 % jitter keeps a fleet restarted together from checking in in lockstep.
            let jittered = interval * Double.random(in: 0.9...1.1)
            return .milliseconds(Int64(jittered * 1000))
        } catch {
            return handle(error)
        }
    }

    private static func decode(_ json: JSONValue) throws(CoordinatorCallError) -> CheckinReply {
        do {
            return try CheckinReply(json: json)
        } catch {
            throw CoordinatorCallError(
                kind: .malformedReply,
                message: "the coordinator's answer is malformed: \(error.message)"
            )
        }
    }

    private func handle(_ error: CoordinatorCallError) -> Duration {
        if error.isRetryable {
            let delay = backoff()
            logger.warning(
                "coordinator unavailable; the node carries on and retries",
                metadata: ["error": "\(error.message)", "retry_seconds": "\(delay.components.seconds)"]
            )
            publish(phase: .unreachable, ["error": .string(error.message)])
            return delay
        }
        let enrolling = credentials == nil
        if !enrolling, case .refused(status: 401) = error.kind {
            // The secret is no longer valid (the client was deleted): forget it, so a new key can enroll again.
            CoordinatorCredentials.remove(stateDirectory: dependencies.stateDirectory)
            credentials = nil
        }
        let message =
            enrolling
            ? "the coordinator refused the enrollment: \(error.message); set a new key (setLicenseKeyAsync)"
            : "the coordinator refused this node's check-in: \(error.message); enroll it again with a new token"
        logger.error("\(message)")
        dependencies.recordEvent("coordinatorRefused", ["error": .string(message)])
        publish(phase: .refused, ["error": .string(message)])
        return Self.refusedRetry
    }

    /// Full jitter over an exponential: 5 s, 10 s, 20 s … up to ten minutes, each drawn from its upper half.
    private func backoff() -> Duration {
        failures += 1
        let exponent = min(failures - 1, 16)
        let ceiling = min(Self.backoffBase * (1 << exponent), Self.backoffCap)
        let seconds = Double(ceiling.components.seconds) * Double.random(in: 0.5...1.0)
        return .milliseconds(Int64(seconds * 1000))
    }

    private func apply(_ reply: CheckinReply) async {
        let hold = LaneHold(
            nodeDisabled: !reply.status.isEnabled,
            disabledLanes: Set(reply.lanes.filter { !$0.status.isEnabled }.map { Int($0.index) }),
            pauseRunning: dependencies.settings.whenDisabled == .pause
        )
        let previous = state["status"]?.stringValue
        if previous != reply.status.rawValue {
            logger.notice("coordinator status", metadata: ["status": "\(reply.status.rawValue)"])
        }
        // Transfers first: lifting the hold wakes the reporter, whose uploads must find them resumed.
        if dependencies.limiter.isPaused != hold.nodeDisabled {
            dependencies.limiter.setPaused(hold.nodeDisabled)
            logger.notice(hold.nodeDisabled ? "transfers paused" : "transfers resumed")
        }
        await dependencies.supervisor.applyHold(hold)
        publish(
            phase: .enrolled,
            [
                "clientId": .string(reply.id), "status": .string(reply.status.rawValue), "site": .string(reply.site),
                "lastCheckin": .double(Self.now()), "interval": .double(reply.interval), "error": .null,
                "lanes": .object(
                    Dictionary(
                        uniqueKeysWithValues: reply.lanes.map {
                            (String($0.index), ["id": .string($0.id), "status": .string($0.status.rawValue)])
                        }
                    )
                ),
            ]
        )
    }

    private func makeReport() -> CheckinReport {
        let settings = dependencies.settings
        let type: ClientType
        switch settings.clientType {
        case .server: type = .server
        case .userServer: type = .userServer
        case nil: type = geteuid() >= 1000 && geteuid() != 65534 ? .userServer : .server
        }
        let lanes = laneSnapshot.map { LaneReport(index: Int64($0.id), benchmark: $0.benchmark) }
        return CheckinReport(
            code: dependencies.nodeName,
            type: type,
            os: "linux",
            username: userName,
            version: OutpostVersion.version,
            hostID: currentHostID(),
            description: settings.description,
            site: settings.site,
            metadata: settings.metadata.map { .object($0.mapValues(JSONValue.string)) },
            metrics: metrics.sample(inbound: traffic.figures(.incoming), outbound: traffic.figures(.outgoing)),
            lanes: lanes
        )
    }

    /// `host_id` is read from /sys at most every ten minutes: interfaces rarely change, and a check-in should cost
    /// the node as little as possible.
    private var hostID: (value: String, readAt: ContinuousClock.Instant)?

    private func currentHostID() -> String {
        if let hostID, ContinuousClock.now - hostID.readAt < .seconds(600) { return hostID.value }
        let value = HostInterfaces.hostID()
        hostID = (value, .now)
        return value
    }

    /// The lanes as the supervisor last listed them, read at the start of each cycle.
    private var laneSnapshot: [(id: Int, benchmark: Double?)] = []

    private func enrollmentToken() -> String? {
        let candidates =
            [dependencies.stateDirectory + "/" + CoordinatorCredentials.tokenFileName]
            + (dependencies.settings.enrollmentTokenFile.map { [$0] } ?? [])
        for path in candidates {
            if let text = try? StateDirectory.readSmallFile(path),
                let token = text.split(whereSeparator: \.isWhitespace).first
            {
                return String(token)
            }
        }
        return nil
    }

    private func publish(phase: Phase, _ fields: [String: JSONValue]) {
        state["state"] = .string(phase.rawValue)
        for (key, value) in fields { state[key] = value }
        if state["url"] == nil { state["url"] = dependencies.settings.url.map(JSONValue.string) ?? .null }
        dependencies.publisher.set(["coordinator"], to: .object(state))
    }

    private lazy var userName: String = UnixUser.name(of: geteuid()) ?? "\(geteuid())"

    static func now() -> Double { WallClock.seconds() }
}

extension CheckinService {
    /// `setLicenseKeyAsync`: keeps an enrollment key for this node (0600 in the state directory). With `validate`,
    /// the coordinator checks it first and an invalid key is refused, leaving the old one in place. A node that is
    /// already enrolled keeps its enrollment; the key is used when the coordinator next asks it to enroll again.
    func setEnrollmentKey(_ key: String, validate: Bool) async throws(RPCError) -> JSONValue {
        let trimmed = key.trimmingWhitespace
        guard !trimmed.isEmpty, trimmed.utf8.count <= 256, trimmed.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else {
            throw .invalidParams("the key must be 1 to 256 printable characters without spaces")
        }
        guard let connection else {
            throw RPCError(
                code: RPCError.invalidStateCode,
                message: "no coordinator is configured: set [coordinator] url in outpostd.toml first"
            )
        }
        var result: [String: JSONValue] = ["stored": true, "validated": .bool(validate)]
        if validate {
            do {
                let answer = try await connection.post(
                    CheckinProtocol.validateTokenPath,
                    body: ["token": .string(trimmed)],
                    timeout: .seconds(20)
                )
                result["site"] = answer["site"] ?? .null
                result["expires"] = answer["expires"] ?? .null
            } catch {
                if error.isRetryable {
                    throw RPCError(
                        code: RPCError.invalidStateCode,
                        message: "cannot validate the key: \(error.message)"
                    )
                }
                throw .invalidParams("the coordinator does not accept this key: \(error.message)")
            }
        }
        do {
            try StateDirectory.writeAtomically(
                dependencies.stateDirectory + "/" + CoordinatorCredentials.tokenFileName,
                contents: trimmed + "\n",
                mode: 0o600
            )
        } catch {
            throw .internalError("cannot store the key: \(error)")
        }
        dependencies.recordEvent("enrollmentKeySet", ["validated": .bool(validate)])
        result["enrolled"] = .bool(credentials != nil)
        wake()
        return .object(result)
    }
}

extension String {
    fileprivate var trimmingWhitespace: String {
        String(self.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}
