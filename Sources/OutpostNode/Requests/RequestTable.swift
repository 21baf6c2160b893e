import NIOCore
import OutpostCore
import OutpostRPC

/// Every request of the process by id, with the per-user counts its caps need. `RequestRegistry` keeps it behind a
/// lock rather than its actor's isolation: a small `ls` is listed and recorded, and a finished result fetched, right
/// on the control server's event loop, with no hop onto the actor.
struct RequestTable {
    /// What one user's finished requests may hold before the oldest go, ahead of the time limit: without it, a user
    /// who submits as fast as they can keeps an hour of results in the daemon's memory.
    struct Retention: Sendable, Equatable {
        /// Finished requests kept per user (at least 1).
        var maximumFinished: Int
        /// Bytes of results kept per user. The newest result is kept whatever its size, so it can still be fetched.
        var maximumResultBytes: Int
    }

    /// One user's finished requests, oldest first, and the bytes of their results.
    private struct Finished {
        var ids = CircularBuffer<Int64>()
        var resultBytes = 0
    }

    let retention: Retention
    private(set) var requests: [Int64: FileRequest] = [:]
    /// Unfinished requests per uid, kept in step with `requests` so the per-user cap costs nothing to check.
    private(set) var unfinishedByUser: [UInt32: Int] = [:]
    private var finishedByUser: [UInt32: Finished] = [:]
    private var nextID: Int64 = 1

    init(retention: Retention) {
        var retention = retention
        retention.maximumFinished = max(retention.maximumFinished, 1)
        self.retention = retention
    }

    /// Adds a request under a new id and returns the id. A finished one counts against its owner's retention at once.
    mutating func add(_ make: (Int64) -> FileRequest) -> Int64 {
        let id = nextID
        nextID += 1
        let request = make(id)
        requests[id] = request
        if request.state.isFinished {
            keepFinished(request)
        } else {
            unfinishedByUser[request.owner.uid, default: 0] += 1
        }
        return id
    }

    /// Marks a queued request running; false if it is no longer queued (it was cancelled while it waited).
    mutating func start(_ id: Int64) -> Bool {
        guard case .queued = requests[id]?.state else { return false }
        requests[id]?.state = .running
        return true
    }

    /// Finishes an unfinished request; nil if it was already finished (or is unknown).
    mutating func finish(_ id: Int64, _ state: FileRequest.State, at time: Double) -> FileRequest? {
        guard var request = requests[id], !request.state.isFinished else { return nil }
        request.state = state
        request.finished = time
        requests[id] = request
        let uid = request.owner.uid
        unfinishedByUser[uid, default: 1] -= 1
        if unfinishedByUser[uid] == 0 { unfinishedByUser.removeValue(forKey: uid) }
        keepFinished(request)
        return request
    }

    /// Removes finished requests (the garbage collector's choice) and forgets them in the per-user accounts.
    mutating func remove(_ ids: [Int64]) {
        guard !ids.isEmpty else { return }
        for id in ids { requests.removeValue(forKey: id) }
        for uid in Array(finishedByUser.keys) {
            var kept = Finished()
            for id in finishedByUser[uid]!.ids {
                guard let request = requests[id] else { continue }
                kept.ids.append(id)
                kept.resultBytes += request.state.resultBytes
            }
            finishedByUser[uid] = kept.ids.isEmpty ? nil : kept
        }
    }

    /// Counts a request that just finished against its owner's retention, then drops that owner's oldest finished
    /// requests while either limit is passed (unfinished ones are never dropped, the newest finished one neither).
    private mutating func keepFinished(_ request: FileRequest) {
        let uid = request.owner.uid
        var finished = finishedByUser.removeValue(forKey: uid) ?? Finished()
        finished.ids.append(request.id)
        finished.resultBytes += request.state.resultBytes
        while finished.ids.count > 1
            && (finished.ids.count > retention.maximumFinished || finished.resultBytes > retention.maximumResultBytes)
        {
            let oldest = finished.ids.removeFirst()
            finished.resultBytes -= requests.removeValue(forKey: oldest)?.state.resultBytes ?? 0
        }
        finishedByUser[uid] = finished
    }
}

extension FileRequest.State {
    /// What a finished request's result holds in memory, as counted against its owner's retention: a listing's
    /// JSON text. Other results are values of a few bytes (a `du` total, null, the roots), counted as nothing.
    var resultBytes: Int {
        guard case .succeeded(.serialized(let text)) = self else { return 0 }
        return text.bytes.count
    }
}
