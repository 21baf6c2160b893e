import OutpostLanes
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The store's transitions on their own, without lanes: what one transaction records.
struct TaskStoreTests {
    @Test func finishingATaskClaimsTheLanesNextOneInTheSameTransaction() async throws {
        let harness = try LaneHarness()
        defer { harness.remove() }
        let store = harness.store
        let first = try await store.insert(TaskSpecification(executable: "/bin/true")).id!
        let second = try await store.insert(TaskSpecification(executable: "/bin/false")).id!
        #expect(try store.claimNext(lane: 1)?.id == first)
        try store.markRunning(first, pid: 4242, processStartTicks: 7)

        let (finished, next) = try store.finish(
            first,
            outcome: TaskOutcome(state: .succeeded, exitStatus: 0, runtimeSeconds: 0.5),
            claimingNextFor: 1
        )
        #expect(finished.id == first)
        #expect(finished.state == .succeeded)
        #expect(finished.finishedAt != nil)
        #expect(finished.reportedAt != nil)  // a local task counts as reported at once
        #expect(next?.id == second)
        #expect(next?.state == .starting)
        #expect(next?.lane == 1)
        #expect(next?.attempts == 1)
        // Both are in the database, not only in what was returned.
        #expect(try await store.task(first)?.state == .succeeded)
        #expect(try await store.task(second)?.state == .starting)
        #expect(try store.claimNext(lane: 0) == nil)  // the second task is taken: no lane can claim it again

        // With nothing queued, the finish stands alone.
        let (last, none) = try store.finish(
            second,
            outcome: TaskOutcome(state: .failed, exitStatus: 1, reason: "exited with status 1", runtimeSeconds: 0.1),
            claimingNextFor: 1
        )
        #expect(last.state == .failed)
        #expect(none == nil)
    }

    @Test func finishingWithoutALaneClaimsNothing() async throws {
        let harness = try LaneHarness()
        defer { harness.remove() }
        let store = harness.store
        let first = try await store.insert(TaskSpecification(executable: "/bin/true")).id!
        let queued = try await store.insert(TaskSpecification(executable: "/bin/true")).id!
        _ = try store.claimNext(lane: 0)
        try store.markRunning(first, pid: 4242, processStartTicks: nil)
        let (_, next) = try store.finish(first, outcome: TaskOutcome(state: .succeeded), claimingNextFor: nil)
        #expect(next == nil)
        #expect(try await store.task(queued)?.state == .queued)
    }

    /// Pruning reads the reported, finished tasks through an index of its own; it keeps the newest `keep` of them
    /// and never touches a queued or running task.
    @Test func pruningRemovesOnlyTheOldestReportedFinishedTasks() async throws {
        let harness = try LaneHarness()
        defer { harness.remove() }
        let store = harness.store
        var finished: [Int64] = []
        for _ in 0..<5 {
            let id = try await store.insert(TaskSpecification(executable: "/bin/true")).id!
            _ = try store.claimNext(lane: 0)
            try store.markRunning(id, pid: 4242, processStartTicks: nil)
            _ = try store.finish(id, outcome: TaskOutcome(state: .succeeded))
            finished.append(id)
        }
        let queued = try await store.insert(TaskSpecification(executable: "/bin/true")).id!
        let running = try await store.insert(TaskSpecification(executable: "/bin/true")).id!
        _ = try store.claimNext(lane: 0)  // takes `queued`
        let pruned = try await store.pruneReported(keep: 2)
        #expect(pruned.sorted() == Array(finished.prefix(3)))
        for id in finished.prefix(3) { #expect(try await store.task(id) == nil) }
        for id in finished.suffix(2) { #expect(try await store.task(id)?.state == .succeeded) }
        #expect(try await store.task(queued)?.state == .starting)
        #expect(try await store.task(running)?.state == .queued)
    }
}
