import Logging
import OutpostCore
import OutpostFiles
import OutpostLanes
import OutpostRPC
import OutpostState

#if canImport(Glibc)
import Glibc
#endif

/// The lanes' control API, Folding@home style: `getState` and `subscribeState` (the whole state, then updates),
/// `setState` (pause, fold, finish), `setConfig`, and the task calls `submitTask` and `abortTask`.
///
/// The state holds task arguments and results, so every call needs superuser or membership of `[lanes]
/// control_group`.
enum LaneMethods {
    static func make(
        node: NodeContext,
        supervisor: LaneSupervisor,
        publisher: StatePublisher
    ) -> [RPCMethod<ControlSession>] {
        @Sendable func authorize(_ session: ControlSession) throws(RPCError) {
            if session.isSuperuser { return }
            if let group = node.settings.current.lanes.controlGroup, let entry = getgrnam(group),
                session.fileCaller.groups.contains(entry.pointee.gr_gid)
            {
                return
            }
            throw .permissionDenied(
                "\(session.caller.userName) may not use the lanes: call superuser() first, or be in the group named by "
                    + "[lanes] control_group"
            )
        }
        return [
            RPCMethod("getState") { _, session in
                try authorize(session)
                return publisher.state
            },
            RPCMethod("subscribeState") { _, session in
                try authorize(session)
                let (snapshot, subscription) = publisher.subscribe()
                guard session.offerSubscription(subscription) else {
                    subscription.cancel()
                    throw RPCError.invalidRequest("this connection is already subscribed to the state")
                }
                return snapshot
            },
            RPCMethod("setState", parameters: ["state", "lane", "group"]) { params, session in
                try authorize(session)
                guard let word = try params.optionalString("state"), let mode = LaneMode(rawValue: word) else {
                    throw RPCError.invalidParams("state must be \"pause\", \"fold\" or \"finish\"")
                }
                var lanes: [Int]?
                if let lane = try params.optionalInteger("lane") { lanes = [Int(lane)] }
                if let group = params.raw("group"), group != .null {
                    guard let ids = group.arrayValue?.compactMap(\.integerValue), ids.count == group.arrayValue?.count
                    else {
                        throw RPCError.invalidParams("group must be an array of lane ids")
                    }
                    lanes = (lanes ?? []) + ids.map { Int($0) }
                }
                do {
                    try await supervisor.setMode(mode, lanes: lanes)
                } catch let error as LaneError {
                    throw RPCError.invalidParams(error.description)
                }
                node.logger.notice(
                    "lane state changed",
                    metadata: [
                        "state": "\(mode.rawValue)", "lanes": "\(lanes.map { "\($0)" } ?? "all")",
                        "user": "\(session.caller.userName)",
                    ]
                )
                return .null
            },
            RPCMethod("setConfig", parameters: ["lanes"]) { params, session in
                try authorize(session)
                guard let patch = params.raw("lanes"), patch != .null else { return publisher.state["config"] ?? [:] }
                let new: LaneConfiguration
                do throws(LaneError) {
                    new = try LaneConfigurationJSON.merge(patch, into: await supervisor.configuration)
                } catch {
                    throw RPCError.invalidParams(error.description)
                }
                try await supervisor.reconfigure(new)
                publisher.set(["config", "lanes"], to: LaneConfigurationJSON.json(new))
                return publisher.state["config"] ?? [:]
            },
            RPCMethod("submitTask", parameters: ["task"]) { params, session in
                try authorize(session)
                guard let task = params.raw("task") else { throw RPCError.invalidParams("submitTask needs 'task'") }
                let specification: TaskSpecification
                do throws(TaskSpecificationError) {
                    specification = try TaskSpecification(json: task)
                } catch {
                    throw RPCError.invalidParams(error.description)
                }
                let record = try await supervisor.submit(specification)
                return ["taskId": .integer(record.id ?? 0)]
            },
            RPCMethod("abortTask", parameters: ["taskId"]) { params, session in
                try authorize(session)
                guard let taskID = try params.optionalInteger("taskId") else {
                    throw RPCError.invalidParams("abortTask needs 'taskId'")
                }
                do {
                    try await supervisor.abort(taskID: taskID, reason: "aborted by \(session.caller.userName)")
                } catch let error as LaneError {
                    throw RPCError.notFound(error.description)
                }
                return .null
            },
        ]
    }
}
