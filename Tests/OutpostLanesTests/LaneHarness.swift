import Logging
import OutpostLanes
import OutpostRPC
import OutpostState

#if canImport(Glibc)
import Glibc
#endif

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// How a harness's tasks are started and found.
enum Tracking: String, Sendable, CustomStringConvertible {
    /// `outpost-launch` and a cgroup per task, as outpostd does when it may create cgroups.
    case cgroup
    /// util-linux's `prlimit` and `nice`, and a `/proc` scan by session and marker: outpostd without cgroups and
    /// without `outpost-launch`.
    case session

    var description: String { rawValue }

    /// Whether this machine lets the tests make cgroups (root with a cgroup v2 hierarchy, as CI has).
    static let cgroupsAvailable: Bool = {
        guard case .success(let cgroups) = TaskCgroups.discover(nodeID: "probe-\(getpid())") else { return false }
        rmdir(cgroups.directory)
        return ExecutionSettings.installedLauncher() != nil
    }()

    /// Every way this machine can run: both where cgroups can be made, else the session fallback only.
    static let available: [Tracking] = cgroupsAvailable ? [.cgroup, .session] : [.session]
    /// What outpostd itself would use here.
    static let best: Tracking = cgroupsAvailable ? .cgroup : .session
}

/// A lane supervisor over a private state directory, with fast checks and a short kill grace, running until `stop()`.
final class LaneHarness: @unchecked Sendable {
    let directory: String
    let store: TaskStore
    let publisher = StatePublisher(initial: ["lanes": [:], "tasks": [:]])
    let supervisor: LaneSupervisor
    let nodeID: String
    let cgroups: TaskCgroups?
    private var runner: Task<Void, any Error>?

    init(
        lanes: Int = 1,
        configure: (inout LaneConfiguration) -> Void = { _ in },
        workSources: [any WorkSource] = [],
        directory existing: String? = nil,
        nodeID: String? = nil,
        tracking: Tracking = .best
    ) throws {
        if let existing {
            directory = existing
        } else {
            var template = Array("/tmp/outpost-lanes-XXXXXX".utf8CString)
            guard let created = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
                throw TestFailure("mkdtemp failed")
            }
            directory = String(cString: created)
            mkdir(directory + "/tasks", 0o700)
        }
        self.nodeID = nodeID ?? "test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        store = try TaskStore(path: directory + "/lanes.sqlite")
        var configuration = LaneConfiguration(count: lanes)
        configure(&configuration)
        var settings = ExecutionSettings(nodeID: self.nodeID)
        settings.checkInterval = .milliseconds(100)
        settings.killGrace = .milliseconds(500)
        settings.outputCapacity = 1 << 20
        if tracking == .cgroup {
            settings.launcher = ExecutionSettings.installedLauncher()
            settings.cgroups = try TaskCgroups.discover(nodeID: self.nodeID).get()
        }
        cgroups = settings.cgroups
        supervisor = LaneSupervisor(
            configuration: configuration,
            dependencies: .init(
                store: store,
                publisher: publisher,
                settings: settings,
                tasksDirectory: directory + "/tasks",
                workSources: workSources,
                logger: Logger(label: "lanes-test")
            )
        )
    }

    func start() {
        let supervisor = self.supervisor
        runner = Task { try await supervisor.run() }
    }

    func stop() async throws {
        await supervisor.stop()
        try await runner?.value
    }

    func remove() {
        cgroups?.removeDirectory()
        removeTree(directory)
    }

    func submit(_ script: String, limits: TaskLimits = TaskLimits(), outputs: [String] = []) async throws -> Int64 {
        let record = try await supervisor.submit(
            TaskSpecification(executable: "/bin/sh", arguments: ["-c", script], outputFiles: outputs, limits: limits)
        )
        return record.id!
    }

    /// Waits until the task reaches a final state, and returns it.
    func waitUntilFinished(_ id: Int64, timeout: Duration = .seconds(30)) async throws -> TaskRecord {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let record = try await store.task(id), record.state.isFinal { return record }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw TestFailure("task \(id) did not finish in \(timeout)")
    }

    func waitUntil(_ what: String, timeout: Duration = .seconds(20), _ condition: () async throws -> Bool) async throws
    {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw TestFailure("timed out waiting for \(what)")
    }

    func slot(_ id: Int64) -> String { "\(directory)/tasks/\(id)/slot" }

    func read(_ path: String) -> String {
        guard let file = fopen(path, "r") else { return "" }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = fread(&buffer, 1, buffer.count, file)
            if count <= 0 { break }
            bytes += buffer[..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Whether a process still lives (zombies count as gone: they hold nothing).
    static func isAlive(_ pid: Int32) -> Bool {
        ProcessTree.process(pid) != nil
    }

    /// The processes of this harness's node still carrying a task marker or in a task cgroup.
    var leftovers: [ProcessTree.Process] {
        ProcessTree.strays(nodeID: nodeID) + (cgroups.map { c in c.groups().flatMap { c.members($0) } } ?? [])
    }
}

/// `rm -rf path`: a test's scratch directory, whatever the tasks left in it.
func removeTree(_ path: String) {
    let words = ["/bin/rm", "-rf", path]
    let argv: [UnsafeMutablePointer<CChar>?] = words.map { strdup($0) } + [nil]
    defer { for pointer in argv { free(pointer) } }
    var pid: pid_t = 0
    if posix_spawn(&pid, "/bin/rm", nil, nil, argv, environ) == 0 { waitpid(pid, nil, 0) }
}
