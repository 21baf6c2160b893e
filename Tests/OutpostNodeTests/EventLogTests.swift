import Logging
import OutpostCore
import OutpostRPC
import OutpostService
import Testing

@testable import OutpostNode

#if canImport(Glibc)
import Glibc
#endif

@Suite("event log")
struct EventLogTests {
    let directory = makeTemporaryDirectory()
    let alice = CallerIdentity(uid: 4001, gid: 4001, pid: 1, userName: "alice")
    let bob = CallerIdentity(uid: 4002, gid: 4002, pid: 2, userName: "bob")

    @Test func usersSeeTheirOwnEventsAndSuperusersSeeAll() throws {
        let log = try EventLog(stateDirectory: directory)
        log.record("serverStarted", ["version": "0.1.0"])
        log.record("requestSubmitted", owner: alice, ["requestId": 1])
        log.record("requestSubmitted", owner: bob, ["requestId": 2])
        log.record("requestCompleted", owner: alice, ["requestId": 1])

        let seenByAlice = log.query(caller: alice, superuser: false)
        #expect(seenByAlice.map(\.name) == ["requestSubmitted", "requestCompleted"])
        #expect(seenByAlice.allSatisfy { $0.fields["userName"] == "alice" })
        #expect(log.query(caller: bob, superuser: false).map { $0.fields["requestId"] } == [2])
        #expect(log.query(caller: bob, superuser: true).count == 4)
    }

    @Test func filtersByNameTimeAndLimitOldestFirst() throws {
        let log = try EventLog(stateDirectory: directory)
        let recorded = (0..<10).map { log.record($0 % 2 == 0 ? "even" : "odd", ["n": .integer(Int64($0))]) }
        let timestamps = recorded.map(\.timestamp)
        #expect(timestamps == timestamps.sorted() && Set(timestamps).count == 10, "timestamps strictly increase")

        let root = CallerIdentity(uid: 0, gid: 0, pid: 1, userName: "root")
        #expect(log.query(name: "odd", caller: root, superuser: true).map { $0.fields["n"] } == [1, 3, 5, 7, 9])
        let window = log.query(before: timestamps[6], after: timestamps[2], caller: root, superuser: true)
        #expect(window.map { $0.fields["n"] } == [3, 4, 5])
        #expect(log.query(limit: 3, caller: root, superuser: true).map { $0.fields["n"] } == [7, 8, 9])
        #expect(log.query(limit: 0, caller: root, superuser: true).isEmpty)
        let json = recorded[0].json
        #expect(json["_event"] == "even" && json["_timestamp"] == .integer(timestamps[0]))
    }

    @Test func survivesARestartAndSkipsATornLine() throws {
        do {
            let log = try EventLog(stateDirectory: directory)
            log.record("serverStarted")
            log.record("requestSubmitted", owner: alice, ["path": "home:a\nb"])
        }
        // A crash in the middle of an append leaves half a line behind.
        let fd = open(directory + "/events.jsonl", O_WRONLY | O_APPEND)
        _ = "{\"_event\":\"requestCompl".withCString { write(fd, $0, strlen($0)) }
        close(fd)

        let reopened = try EventLog(stateDirectory: directory)
        let events = reopened.query(caller: alice, superuser: true)
        #expect(events.map(\.name) == ["serverStarted", "requestSubmitted"])
        #expect(events[1].fields["path"] == "home:a\nb")
        #expect(StateDirectory.permissions(of: directory + "/events.jsonl") == 0o600)
        let next = reopened.record("serverStarted")
        #expect(next.timestamp > events[1].timestamp)
    }

    @Test func staysBoundedInMemoryAndOnDisk() throws {
        let log = try EventLog(stateDirectory: directory, capacity: 100)
        for n in 0..<1000 { log.record("tick", ["n": .integer(Int64(n))]) }
        let root = CallerIdentity(uid: 0, gid: 0, pid: 1, userName: "root")
        let kept = log.query(caller: root, superuser: true)
        #expect(kept.count == 100)
        #expect(kept.first?.fields["n"] == 900 && kept.last?.fields["n"] == 999)

        let reopened = try EventLog(stateDirectory: directory, capacity: 100)
        #expect(reopened.query(caller: root, superuser: true) == kept)
        var lines = 0
        for file in ["/events.jsonl", "/events.1.jsonl"] {
            lines +=
                (try StateDirectory.readSmallFile(directory + file, limit: 1 << 20) ?? "").split(separator: "\n").count
        }
        #expect(lines <= 200)
    }

    @Test func anUnusableLogFileIsAClearStartupError() {
        mkdir(directory + "/events.jsonl", 0o700)
        #expect {
            _ = try EventLog(stateDirectory: directory)
        } throws: { error in
            "\(error)".hasPrefix(directory + "/events.jsonl: ")
        }
    }

    @Test func badQueryParametersAreInvalidParams() async {
        let node = NodeContext(
            identity: NodeIdentity(nodeID: "00000000-0000-4000-8000-000000000003"),
            instanceID: "i",
            settings: NodeSettings(NodeConfiguration()),
            sandboxMappings: try! SandboxMappingStore(stateDirectory: directory, initial: [:]),
            events: try! EventLog(stateDirectory: directory),
            logger: Logger(label: "test")
        )
        let methods = RPCDispatcher(methods: EventMethods.make(node: node))
        let session = ControlSession(caller: alice, connectionID: 1)
        for params: JSONValue in [
            ["limit": -1], ["limit": 100_000], ["eventName": 5], ["after": "yesterday"], ["x": 1],
        ] {
            let result = await methods.call(
                RPCRequest(id: .number(1), method: "getEventLog", params: params),
                context: session
            )
            #expect(throws: RPCError.self) { try result.get() }
            if case .failure(let error) = result { #expect(error.code == RPCError.invalidParamsCode, "\(params)") }
        }
    }
}

extension EventLogTests {
    @Test("events recorded together are written with one append, in order, and read back after a restart")
    func eventsRecordedTogether() throws {
        let root = CallerIdentity(uid: 0, gid: 0, pid: 1, userName: "root")
        do {
            let log = try EventLog(stateDirectory: directory, capacity: 3)
            log.record("serverStarted")
            log.record(
                [
                    ("requestSubmitted", ["requestId": 1, "path": "home:\"quoted\"\n"]),
                    ("requestCompleted", ["requestId": 1]),
                ],
                owner: alice
            )
            let events = log.query(caller: root, superuser: true)
            #expect(events.map(\.name) == ["serverStarted", "requestSubmitted", "requestCompleted"])
            #expect(events[1].fields["uid"] == 4001 && events[2].fields["userName"] == "alice")
            #expect(events[1].fields["path"] == "home:\"quoted\"\n")
            #expect(events[1].timestamp < events[2].timestamp)
            // Two more would overflow the file of 3: a new file starts, and the pair stays together in it.
            log.record([("a", [:]), ("b", [:])], owner: nil)
        }
        let current = try #require(try StateDirectory.readSmallFile(directory + "/events.jsonl", limit: 1 << 20))
        #expect(current.split(separator: "\n").count == 2, "the pair went to a new file")
        let reopened = try EventLog(stateDirectory: directory, capacity: 3)
        let events = reopened.query(caller: root, superuser: true)
        #expect(events.map(\.name) == ["requestCompleted", "a", "b"])
    }

    @Test("an event's line is the JSON of its members")
    func lineIsTheEventsJSON() throws {
        let log = try EventLog(stateDirectory: directory)
        let event = log.record(
            "requestFailed",
            owner: bob,
            ["errorMessage": "no\tway \u{1}", "requestId": 7, "size": 2.5]
        )
        let text = try #require(try StateDirectory.readSmallFile(directory + "/events.jsonl", limit: 1 << 20))
        #expect(text == JSONCoding.serializeToString(event.json) + "\n")
    }
}

extension EventLogTests {
    /// Runs a program to its end and returns its exit status.
    func run(_ arguments: [String]) -> Int32 {
        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        guard posix_spawn(&pid, arguments[0], nil, nil, argv, environ) == 0 else { return -1 }
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        return status
    }

    @Test(
        "on a full disk the events stay in memory, and a line cut short is removed so the file reads back whole",
        .enabled(if: geteuid() == 0, "mounting a tmpfs needs root")
    )
    func fullDisk() throws {
        let state = directory + "/small"
        mkdir(state, 0o700)
        try #require(run(["/bin/mount", "-t", "tmpfs", "-o", "size=8k,mode=0700", "tmpfs", state]) == 0)
        defer { _ = run(["/bin/umount", "-l", state]) }
        let root = CallerIdentity(uid: 0, gid: 0, pid: 1, userName: "root")
        do {
            let log = try EventLog(stateDirectory: state)
            log.record("before")  // the log file's first page
            // Fill the rest of the file system.
            let filler = open(state + "/filler", O_WRONLY | O_CREAT, 0o600)
            let block = [UInt8](repeating: 0, count: 1024)
            while block.withUnsafeBytes({ write(filler, $0.baseAddress, $0.count) }) > 0 {}
            close(filler)
            // Longer than what is left of the log file's page: part of it is written, then the disk is full.
            log.record([("lost", ["text": .string(String(repeating: "x", count: 6000))]), ("lost", [:])], owner: alice)
            #expect(log.query(caller: root, superuser: true).map(\.name) == ["before", "lost", "lost"])
            unlink(state + "/filler")
            log.record("after")
        }
        let reopened = try EventLog(stateDirectory: state)
        #expect(reopened.query(caller: root, superuser: true).map(\.name) == ["before", "after"])
    }
}
