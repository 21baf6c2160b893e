import OutpostClient
import OutpostRPC
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// outpostd under a fake systemd: readiness, watchdog, reload and stop, as a service manager sees them.
@Suite("systemd integration (real outpostd)", .serialized)
struct SystemdIntegrationTests {
    @Test("READY=1 arrives only once the control socket answers")
    func readyAfterSocketAnswers() throws {
        let directory = try TemporaryDirectory()
        let notify = try NotifySocket(path: directory.file("notify"))
        let daemon = try Daemon(environment: ["NOTIFY_SOCKET": notify.path], directory: directory, waitForSocket: false)
        let ready = try notify.waitFor("READY=1")
        // The moment READY=1 is seen, the socket must already answer: no retry here.
        let answer = try ControlClient(socketPath: daemon.socketPath, timeoutSeconds: 5).call("echo", ["text": "now"])
        #expect(answer == "now")
        #expect(ready.contains("STATUS=Serving the control API"))
        #expect(try daemon.stop() == 0)
    }

    @Test("WATCHDOG=1 arrives repeatedly at half of WATCHDOG_USEC")
    func watchdogPings() throws {
        let directory = try TemporaryDirectory()
        let notify = try NotifySocket(path: directory.file("notify"))
        let daemon = try Daemon(
            environment: ["NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "200000"],
            directory: directory,
            waitForSocket: false
        )
        try notify.waitFor("READY=1")
        // 100 ms interval: about 10 in a second; allow for a loaded machine.
        let pings = notify.count("WATCHDOG=1", during: .seconds(1))
        #expect(pings >= 4)
        #expect(pings <= 15)
        #expect(try daemon.stop() == 0)
    }

    @Test("no watchdog pings without WATCHDOG_USEC")
    func noWatchdogWithoutUsec() throws {
        let directory = try TemporaryDirectory()
        let notify = try NotifySocket(path: directory.file("notify"))
        let daemon = try Daemon(environment: ["NOTIFY_SOCKET": notify.path], directory: directory, waitForSocket: false)
        try notify.waitFor("READY=1")
        #expect(notify.count("WATCHDOG=1", during: .milliseconds(500)) == 0)
        #expect(try daemon.stop() == 0)
    }

    @Test("SIGTERM: STOPPING=1, exit 0 within 5 s, socket file removed")
    func sigtermStopsGracefully() throws {
        let directory = try TemporaryDirectory()
        let notify = try NotifySocket(path: directory.file("notify"))
        let daemon = try Daemon(environment: ["NOTIFY_SOCKET": notify.path], directory: directory, waitForSocket: false)
        try notify.waitFor("READY=1")
        // An idle client connection must not hold the shutdown up.
        let idle = try daemon.client()
        _ = try idle.call("echo")
        let start = ContinuousClock.now
        daemon.process.signal(SIGTERM)
        try notify.waitFor("STOPPING=1", timeout: .seconds(5))
        #expect(try daemon.process.waitForExit(timeout: .seconds(5)) == 0)
        #expect(ContinuousClock.now - start < .seconds(5))
        #expect(!fileExists(daemon.socketPath))
    }

    @Test("SIGINT stops too")
    func sigintStops() throws {
        let daemon = try Daemon()
        daemon.process.signal(SIGINT)
        #expect(try daemon.process.waitForExit(timeout: .seconds(5)) == 0, "\(daemon.process.standardError)")
    }

    @Test("SIGHUP: RELOADING=1 then READY=1; a good file applies, a broken one keeps the old config and logs why")
    func sighupReload() throws {
        let directory = try TemporaryDirectory()
        let notify = try NotifySocket(path: directory.file("notify"))
        let daemon = try Daemon(
            config: "[node]\nname = \"first\"\n",
            environment: ["NOTIFY_SOCKET": notify.path],
            directory: directory,
            waitForSocket: false
        )
        try notify.waitFor("READY=1")
        #expect(try daemon.client().call("getServerInfo")["name"] == "first")

        try writeFile(directory.file("outpostd.toml"), "[node]\nname = \"second\"\n")
        daemon.process.signal(SIGHUP)
        try notify.waitFor("RELOADING=1")
        try notify.waitFor("READY=1")
        #expect(try daemon.client().call("getServerInfo")["name"] == "second")

        try writeFile(directory.file("outpostd.toml"), "[node]\nname = \"third\"\nbogus_key = 1\n")
        daemon.process.signal(SIGHUP)
        try notify.waitFor("RELOADING=1")
        try notify.waitFor("READY=1")
        #expect(try daemon.client().call("getServerInfo")["name"] == "second")
        let log = daemon.process.standardError
        #expect(log.contains("reload failed"))
        #expect(log.contains("node.bogus_key"))
        #expect(log.contains("outpostd.toml:3"))
        #expect(daemon.process.isRunning)

        // [sandbox] only seeds the persisted mappings: a reload that changes it says how to change them instead.
        try writeFile(directory.file("outpostd.toml"), "[node]\nname = \"second\"\n[sandbox]\nalice = false\n")
        daemon.process.signal(SIGHUP)
        try notify.waitFor("RELOADING=1")
        try notify.waitFor("READY=1")
        #expect(daemon.process.standardError.contains("use setSandboxMapping"))

        // What is read only at start is said to need a restart, section by section; what applies live is not.
        try writeFile(
            directory.file("outpostd.toml"),
            """
            [node]
            name = "second"
            [sandbox]
            alice = false
            [lanes]
            control_group = "outpost-lanes"
            [coordinator]
            checkin_interval = 5
            [bandwidth]
            outgoing_rate_limit = 1000
            """
        )
        daemon.process.signal(SIGHUP)
        try notify.waitFor("RELOADING=1")
        try notify.waitFor("READY=1")
        let restartNeeded = daemon.process.standardError
        #expect(restartNeeded.contains("[coordinator] changed; it takes effect when outpostd restarts"))
        #expect(restartNeeded.contains("[bandwidth] changed; it takes effect when outpostd restarts"))
        #expect(!restartNeeded.contains("[lanes] changed"))
        #expect(try daemon.stop() == 0)
    }

    @Test("socket activation: systemd-socket-activate -l PATH outpostd serves on the inherited socket")
    func socketActivation() throws {
        let directory = try TemporaryDirectory()
        let socketPath = directory.file("activated.sock")
        let activator = try ChildProcess(
            "/usr/bin/systemd-socket-activate",
            [
                "-l", socketPath, "--fdname=control", try BuiltProducts.path("outpostd"),
                "--state-directory", directory.file("state"),
                // A path that would be bound if the inherited socket were ignored: it must stay unused.
                "--control-socket", directory.file("unused.sock"),
            ],
            environment: ["PATH": "/usr/bin:/bin"],
            directory: directory
        )
        #expect(try eventually { fileExists(socketPath) })
        let client = try ControlClient(socketPath: socketPath, timeoutSeconds: 10)
        #expect(try client.call("echo", ["text": "activated"]) == "activated")
        #expect(!fileExists(directory.file("unused.sock")))
        activator.signal(SIGTERM)
        #expect(try activator.waitForExit(timeout: .seconds(5)) == 0)
        #expect(activator.standardError.contains("inherited socket 'control'"))
    }

    @Test("the node id is made once and survives restarts; the instance id does not")
    func identitySurvivesRestart() throws {
        let directory = try TemporaryDirectory()
        let first = try Daemon(directory: directory)
        let before = try first.client().call("getServerInfo")
        #expect(try first.stop() == 0)
        let second = try Daemon(directory: directory)
        let after = try second.client().call("getServerInfo")
        #expect(before["nodeId"] == after["nodeId"])
        #expect(before["instanceId"] != after["instanceId"])
        #expect(try second.stop() == 0)
    }

    @Test("a second daemon on the same socket refuses to start and leaves the first serving")
    func secondDaemonRefused() throws {
        let directory = try TemporaryDirectory()
        let first = try Daemon(directory: directory)
        let second = try Daemon(directory: directory, waitForSocket: false)
        #expect(try second.process.waitForExit(timeout: .seconds(10)) == 69)
        #expect(second.process.standardError.contains("already serving"))
        #expect(try first.client().call("echo", ["text": "still"]) == "still")
        #expect(try first.stop() == 0)
    }
}
