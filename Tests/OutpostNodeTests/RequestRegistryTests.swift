import OutpostCore
import OutpostFiles
import OutpostRPC
import Testing

@testable import OutpostNode

#if canImport(Glibc)
import Glibc
#endif

@Suite("request registry")
struct RequestRegistryTests {
    let alice = CallerIdentity(uid: 4001, gid: 4001, pid: 1, userName: "alice")
    let bob = CallerIdentity(uid: 4002, gid: 4002, pid: 2, userName: "bob")

    func listed(_ registry: RequestRegistry, by owner: CallerIdentity, _ number: Int64) -> Int64 {
        registry.recordFinished(
            method: "lsAsync",
            owner: owner,
            summary: [:],
            outcome: .success(.value(.integer(number))),
            control: OperationControl()
        )
    }

    /// A finished listing whose JSON text is `bytes` long.
    func listed(_ registry: RequestRegistry, by owner: CallerIdentity, bytes: Int) -> Int64 {
        registry.recordFinished(
            method: "lsAsync",
            owner: owner,
            summary: [:],
            outcome: .success(.serialized(SerializedJSON(.string(String(repeating: "x", count: bytes - 2))))),
            control: OperationControl()
        )
    }

    func isKept(_ registry: RequestRegistry, _ id: Int64, for caller: CallerIdentity) -> Bool {
        (try? registry.status(id, caller: caller, superuser: false)) != nil
    }

    @Test("past max_finished_per_user a user's oldest finished results go; unfinished requests and others' stay")
    func finishedResultsAreCappedPerUser() async throws {
        let events = try EventLog(stateDirectory: makeTemporaryDirectory())
        let registry = RequestRegistry(
            workers: 1,
            maximumPendingPerUser: 10,
            retention: .init(maximumFinished: 2, maximumResultBytes: 1 << 20),
            settings: .init(),
            events: events
        )
        let runner = Task { await registry.runJobs() }
        defer { runner.cancel() }
        // A request that runs until it is cancelled.
        let running = try await registry.submit(method: "duAsync", owner: alice) { control throws(FileOperationError) in
            while !control.isCancelled { usleep(1000) }
            throw FileOperationError(.cancelled, path: "", message: "cancelled")
        }
        let lists = (0..<4).map { listed(registry, by: alice, $0) }
        let bobs = listed(registry, by: bob, 9)

        #expect(lists.map { isKept(registry, $0, for: alice) } == [false, false, true, true])
        #expect(try registry.status(running, caller: alice, superuser: false)["status"] == "pending")
        #expect(isKept(registry, bobs, for: bob), "another user's results do not count against alice's")
        #expect(try registry.finishedResult(lists[3], caller: alice, superuser: false).map(\.serialized.value) == 3)
        do {
            _ = try registry.finishedResult(lists[0], caller: alice, superuser: false)
            Issue.record("a dropped result was still given out")
        } catch {
            #expect(error.message.contains("not found (expired or never issued)"))
        }

        // The running request finishes (cancelled): it is now alice's newest finished one, and her oldest kept goes.
        try await registry.cancel(running, caller: alice, superuser: false)
        let deadline = ContinuousClock.now + .seconds(10)
        while try registry.status(running, caller: alice, superuser: false)["status"] == "pending" {
            #expect(ContinuousClock.now < deadline, "the cancelled request never finished")
            try await Task.sleep(for: .milliseconds(5))
        }
        #expect([lists[2], lists[3], running].map { isKept(registry, $0, for: alice) } == [false, true, true])
        #expect(await registry.list(caller: alice, superuser: false).arrayValue?.count == 2)

        // A sweep forgets what it removed: the next two results are both kept.
        #expect(await registry.collectGarbage(force: true) == 3)
        let later = (10..<12).map { listed(registry, by: alice, $0) }
        #expect(later.allSatisfy { isKept(registry, $0, for: alice) })
    }

    @Test("past max_result_bytes_per_user a user's oldest results go, but the newest stays whatever its size")
    func resultBytesAreCappedPerUser() throws {
        let registry = RequestRegistry(
            workers: 1,
            maximumPendingPerUser: 10,
            retention: .init(maximumFinished: 100, maximumResultBytes: 1000),
            settings: .init(),
            events: try EventLog(stateDirectory: makeTemporaryDirectory())
        )
        let small = (0..<4).map { _ in listed(registry, by: alice, bytes: 300) }
        #expect(small.map { isKept(registry, $0, for: alice) } == [false, true, true, true], "900 of 1,000 bytes")
        let value = listed(registry, by: alice, 7)
        #expect(isKept(registry, value, for: alice) && isKept(registry, small[1], for: alice), "values count nothing")
        let bobs = listed(registry, by: bob, bytes: 900)

        let huge = listed(registry, by: alice, bytes: 5000)
        #expect(isKept(registry, huge, for: alice), "the newest result is kept even past the budget")
        #expect((small + [value]).allSatisfy { !isKept(registry, $0, for: alice) })
        #expect(isKept(registry, bobs, for: bob))
        let result = try registry.finishedResult(huge, caller: alice, superuser: false)
        #expect(result?.serialized.bytes.count == 5000)

        let next = listed(registry, by: alice, bytes: 300)
        #expect(!isKept(registry, huge, for: alice) && isKept(registry, next, for: alice))
    }
}
