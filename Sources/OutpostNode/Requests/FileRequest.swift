import OutpostCore
import OutpostFiles
import OutpostRPC

/// One asynchronous request (`lsAsync`, `duAsync`, …) and its life: queued, running, then finished exactly once.
struct FileRequest: Sendable {
    enum State: Sendable {
        case queued
        case running
        case succeeded(RPCResult)
        case failed(RPCError)
        case cancelled

        var isFinished: Bool {
            switch self {
            case .queued, .running: false
            case .succeeded, .failed, .cancelled: true
            }
        }
    }

    let id: Int64
    let method: String
    let owner: CallerIdentity
    let created: Double
    var finished: Double?
    var state: State
    let control: OperationControl

    /// `getRequestStatus`'s shape.
    var statusJSON: JSONValue {
        var members: [String: JSONValue] = [
            "requestId": .integer(id), "method": .string(method), "created": .double(created),
            "userName": .string(owner.userName), "entriesDone": .integer(Int64(control.entriesDone)),
        ]
        switch state {
        case .queued, .running: members["status"] = "pending"
        case .succeeded: members["status"] = "success"
        case .failed(let error):
            members["status"] = "error"
            members["errorMessage"] = .string(error.message)
        case .cancelled: members["status"] = "cancelled"
        }
        if let finished { members["finished"] = .double(finished) }
        return .object(members)
    }
}
