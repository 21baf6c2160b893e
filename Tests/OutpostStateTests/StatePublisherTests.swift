import OutpostRPC
import Testing

@testable import OutpostState

@Suite("state stream")
struct StatePublisherTests {
    @Test func aSubscriberRebuildsTheStateFromItsSnapshotAndUpdates() async throws {
        let publisher = StatePublisher(initial: ["lanes": [:], "tasks": [:]])
        let (snapshot, subscription) = publisher.subscribe()
        var replica = snapshot
        let reader = Task {
            // Until the writer's last change (`done`) arrives.
            while replica["done"] == nil, let message = await subscription.next() {
                switch message {
                case .updates(let updates):
                    for update in updates { try replica.apply(update) }
                case .snapshot(let state):
                    replica = state
                }
            }
            return replica
        }
        for index in 0..<100 {
            publisher.change { $0.apply(["tasks", .string("t\(index)"), ["state": "run", "progress": 0.5]]) }
            publisher.change { $0.apply(["lanes", "0", ["task": .string("t\(index)")]]) }
            if index % 10 == 0 { await Task.yield() }
        }
        publisher.change { $0.apply(["done", true]) }
        let final = try await reader.value
        #expect(JSONCoding.serialize(final) == JSONCoding.serialize(publisher.state))
        subscription.cancel()
        #expect(publisher.subscriberCount == 0)
    }

    @Test func aSlowSubscriberIsResyncedInsteadOfBufferedForever() async throws {
        let publisher = StatePublisher(initial: ["counter": 0], backlogLimit: 50)
        let (_, slow) = publisher.subscribe()
        for value in 1...10_000 {
            publisher.change { $0 = ["counter": .integer(Int64(value))] }
            #expect(slow.backlogCount <= 50)
        }
        // Its next message is the whole current state, and after that it follows updates again.
        #expect(await slow.next() == .snapshot(["counter": 10_000]))
        publisher.change { $0 = ["counter": 10_001] }
        #expect(await slow.next() == .updates([StateUpdate([.key("counter")], 10_001)]))
    }

    @Test func cancellingEndsAWaitingReader() async {
        let publisher = StatePublisher()
        let (_, subscription) = publisher.subscribe()
        let reader = Task { await subscription.next() }
        try? await Task.sleep(for: .milliseconds(20))
        subscription.cancel()
        #expect(await reader.value == nil)
        #expect(publisher.subscriberCount == 0)
        let (_, other) = publisher.subscribe()
        let cancelledTask = Task { await other.next() }
        cancelledTask.cancel()
        #expect(await cancelledTask.value == nil)
    }

    /// An update changes the tree in place: a node with 20,000 tasks pays for the task that changed, not for a copy
    /// of all of them (a copy per update took 1.5 s for these 2,000 updates; in place takes milliseconds).
    @Test func updatesChangeTheTreeInPlaceWithoutCopyingTheirSiblings() {
        var tasks: [String: JSONValue] = [:]
        for id in 0..<20_000 { tasks[String(id)] = ["state": "queued", "progress": 0.0] }
        let publisher = StatePublisher(initial: ["lanes": [:], "tasks": .object(tasks)])
        tasks = [:]
        let started = ContinuousClock.now
        for id in 0..<2_000 {
            publisher.set(["tasks", String(id), "state"], to: "running")
            publisher.set(["tasks", String(id + 10_000)], to: nil)
        }
        let elapsed = ContinuousClock.now - started
        #expect(elapsed < .milliseconds(300), "2,000 updates took \(elapsed)")
        #expect(publisher.state.value(at: ["tasks", "1999", "state"]) == "running")
        #expect(publisher.state["tasks"]?.objectValue?.count == 18_000)
    }
}

extension JSONValue {
    /// Test shorthand: sets the value at a key path (the last element of `pathAndValue` is the value).
    fileprivate mutating func apply(_ pathAndValue: [JSONValue]) {
        let keys = pathAndValue.dropLast().compactMap(\.stringValue)
        Self.set(&self, keys[...], pathAndValue.last!)
    }

    private static func set(_ node: inout JSONValue, _ keys: ArraySlice<String>, _ value: JSONValue) {
        guard let key = keys.first, var members = node.objectValue else {
            node = value
            return
        }
        var child = members[key] ?? [:]
        set(&child, keys.dropFirst(), value)
        members[key] = child
        node = .object(members)
    }
}
