import OutpostRPC
import Synchronization

/// What a subscriber receives after its first snapshot: the updates since the last message, in order, or — when it
/// fell so far behind that its backlog was dropped — a fresh snapshot to start again from.
public enum StateMessage: Sendable, Equatable {
    case updates([StateUpdate])
    case snapshot(JSONValue)

    /// What a controller receives for this message, whatever the transport: one `stateUpdate` notification per
    /// update with its `[path…, value]` array as params, or one `stateSnapshot` with the whole state after a resync.
    public var notifications: [JSONValue] {
        switch self {
        case .updates(let updates):
            updates.map { ["jsonrpc": "2.0", "method": "stateUpdate", "params": $0.json] }
        case .snapshot(let state):
            [["jsonrpc": "2.0", "method": "stateSnapshot", "params": state]]
        }
    }
}

/// The node's one state tree and everyone watching it (`getState`, `subscribeState`).
///
/// Changes go through `change(_:)`, which diffs the tree before and after and hands the updates to every subscriber.
/// A subscriber's backlog is bounded: past `backlogLimit` updates it is dropped and the subscriber is marked for a
/// resync, so its next message is a whole new snapshot. A slow or stalled controller therefore costs at most one
/// backlog of memory, never an unbounded queue, and still ends up with the right state.
public final class StatePublisher: Sendable {
    private struct Store {
        var state: JSONValue
        var subscribers: [Int: StateSubscription] = [:]
        var nextSubscriberID = 0
    }

    private let store: Mutex<Store>
    public let backlogLimit: Int

    public init(initial: JSONValue = [:], backlogLimit: Int = 10_000) {
        store = Mutex(Store(state: initial))
        self.backlogLimit = backlogLimit
    }

    /// A snapshot of the whole tree.
    public var state: JSONValue { store.withLock { $0.state } }

    /// Applies `mutate` to the tree and publishes what changed; returns the updates (empty if nothing did).
    @discardableResult
    public func change(_ mutate: (inout JSONValue) -> Void) -> [StateUpdate] {
        store.withLock { store in
            let before = store.state
            mutate(&store.state)
            let updates = StateDiff.updates(from: before, to: store.state)
            if !updates.isEmpty {
                for subscriber in store.subscribers.values { subscriber.deliver(updates) }
            }
            return updates
        }
    }

    /// Sets the value at `path` (object keys from the root; nil removes it) and publishes what changed there.
    ///
    /// Unlike `change(_:)`, which compares the whole tree, this compares only the subtree at `path`: a node with
    /// thousands of queued tasks pays for the one task that changed, not for all of them. Every key but the last must
    /// already exist; when one does not (the task was removed meanwhile), nothing is set.
    @discardableResult
    public func set(_ path: [String], to value: JSONValue?) -> [StateUpdate] {
        store.withLock { store in
            let prefix = path.map { StateUpdate.PathElement.key($0) }
            let updates: [StateUpdate]
            switch (store.state.value(at: path), value) {
            case (nil, nil): return []
            case (nil, let new?): updates = [StateUpdate(prefix, new)]
            case (_?, nil): updates = [StateUpdate(prefix, .null)]
            case (let old?, let new?):
                updates = StateDiff.updates(from: old, to: new).map { StateUpdate(prefix + $0.path, $0.value) }
            }
            var applied: [StateUpdate] = []
            for update in updates {
                do {
                    try store.state.apply(update)
                    applied.append(update)
                } catch {
                    break
                }
            }
            if !applied.isEmpty {
                for subscriber in store.subscribers.values { subscriber.deliver(applied) }
            }
            return applied
        }
    }

    /// Starts a subscription: the snapshot it begins from, and the subscription to read updates from. The two are
    /// taken together, so no change falls between them.
    public func subscribe() -> (snapshot: JSONValue, subscription: StateSubscription) {
        store.withLock { store in
            let id = store.nextSubscriberID
            store.nextSubscriberID += 1
            let subscription = StateSubscription(id: id, publisher: self, backlogLimit: backlogLimit)
            store.subscribers[id] = subscription
            return (store.state, subscription)
        }
    }

    public var subscriberCount: Int { store.withLock { $0.subscribers.count } }

    func remove(_ id: Int) {
        _ = store.withLock { $0.subscribers.removeValue(forKey: id) }
    }

    /// The current tree, with the subscriber's backlog cleared under the same lock: the resync snapshot.
    func resynchronize(_ subscription: StateSubscription) -> JSONValue {
        store.withLock { store in
            subscription.clearBacklog()
            return store.state
        }
    }
}

/// One subscriber's view of the stream: read it with `next()` until it returns nil (after `cancel()`).
public final class StateSubscription: Sendable {
    private struct Inbox {
        var backlog: [StateUpdate] = []
        var needsResync = false
        var waiter: CheckedContinuation<StateMessage?, Never>?
        var cancelled = false
        /// When `next()` last handed out a message.
        var lastMessage: ContinuousClock.Instant?
    }

    /// The shortest time between two messages. A busy node changes its tree several times per task, thousands of
    /// times a second with short tasks; one message (one write, one wake-up of the subscriber) per change cost more
    /// than the change itself. Updates that come sooner wait, at most this long, and go out together. An update
    /// after a quiet spell goes out at once.
    public static let minimumInterval: Duration = .milliseconds(10)

    let id: Int
    private let inbox = Mutex(Inbox())
    private let backlogLimit: Int
    private weak let publisher: StatePublisher?

    init(id: Int, publisher: StatePublisher, backlogLimit: Int) {
        self.id = id
        self.publisher = publisher
        self.backlogLimit = backlogLimit
    }

    /// Called with the publisher's lock held, so deliveries are in the order the changes happened.
    func deliver(_ updates: [StateUpdate]) {
        let waiter: CheckedContinuation<StateMessage?, Never>? = inbox.withLock { inbox in
            guard !inbox.cancelled, !inbox.needsResync else { return nil }
            if let waiter = inbox.waiter {
                inbox.waiter = nil
                return waiter
            }
            inbox.backlog += updates
            if inbox.backlog.count > backlogLimit {
                inbox.backlog = []
                inbox.needsResync = true
            }
            return nil
        }
        waiter?.resume(returning: .updates(updates))
    }

    func clearBacklog() {
        inbox.withLock { inbox in
            inbox.backlog = []
            inbox.needsResync = false
        }
    }

    /// Updates that have piled up, not yet read: what a slow subscriber costs.
    public var backlogCount: Int { inbox.withLock { $0.backlog.count } }

    /// The next message: every update waiting (as one batch), a snapshot after an overflow, or nil once cancelled.
    /// Not sooner than `minimumInterval` after the previous one.
    public func next() async -> StateMessage? {
        enum Ready {
            case message(StateMessage?)
            case resync
        }
        let last = inbox.withLock { $0.lastMessage }
        if let last, case let wait = last + Self.minimumInterval - .now, wait > .zero {
            try? await Task.sleep(for: wait)  // cancelled: the check below returns nil
        }
        defer { inbox.withLock { $0.lastMessage = .now } }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                // Under the inbox lock: take what is there, or register to be woken by the next delivery.
                let ready: Ready? = inbox.withLock { inbox in
                    if inbox.cancelled { return .message(nil) }
                    if inbox.needsResync { return .resync }
                    if !inbox.backlog.isEmpty {
                        defer { inbox.backlog = [] }
                        return .message(.updates(inbox.backlog))
                    }
                    inbox.waiter = continuation
                    return nil
                }
                switch ready {
                case .message(let message): continuation.resume(returning: message)
                case .resync: continuation.resume(returning: publisher.map { .snapshot($0.resynchronize(self)) })
                case nil: break
                }
            }
        } onCancel: {
            cancel()
        }
    }

    /// Ends the subscription: a waiting `next()` returns nil and the publisher forgets it.
    public func cancel() {
        let waiter = inbox.withLock { inbox in
            inbox.cancelled = true
            inbox.backlog = []
            defer { inbox.waiter = nil }
            return inbox.waiter
        }
        waiter?.resume(returning: nil)
        publisher?.remove(id)
    }
}
