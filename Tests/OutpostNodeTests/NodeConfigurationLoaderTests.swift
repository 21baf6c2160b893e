import Logging
import OutpostLanes
import OutpostService
import Testing

@testable import OutpostNode

@Suite("outpostd configuration")
struct NodeConfigurationLoaderTests {
    static let packageRoot: String = {
        let file = #filePath
        return String(file[..<file.firstRange(of: "/Tests/")!.lowerBound])
    }()

    @Test("the shipped sample file states exactly the built-in defaults")
    func sampleMatchesDefaults() throws {
        let path = Self.packageRoot + "/etc/outpost/outpostd.toml"
        let text = try ConfigurationFile.read(path)
        #expect(try NodeConfigurationLoader.parse(text: text, file: path) == NodeConfiguration())
    }

    @Test("every key is read")
    func everyKey() throws {
        let configuration = try NodeConfigurationLoader.parse(
            text: """
                [node]
                state_directory = "/srv/outpost"
                name = "render-07"
                [control]
                socket = "/run/o.sock"
                socket_mode = "0600"
                max_connections = 8
                max_connections_per_user = 3
                idle_timeout_seconds = 45
                max_message_bytes = 65536
                superusers = ["alice", "bob"]
                [requests]
                workers = 2
                max_pending_per_user = 50
                max_finished_per_user = 20
                max_result_bytes_per_user = 1048576
                time_limit_seconds = 600
                interval_seconds = 120
                [lanes]
                count = 3
                cpus = 2
                memory_limit = 1073741824
                max_runtime = 3600
                max_restarts = 5
                finished_kept = 10
                control_group = "render"
                output_limit = 1048576
                kill_grace = 2
                check_interval_ms = 250
                niceness = 10
                [coordinator]
                url = "https://coordinator.example.org:8470"
                enrollment_token_file = "/etc/outpost/enrollment.token"
                ca_file = "/etc/outpost/ca.pem"
                checkin_interval = 30
                when_disabled = "pause"
                description = "rack 4"
                site = "hq"
                client_type = "user_server"
                [coordinator.metadata]
                rack = "4"
                [log]
                level = "debug"
                """,
            file: "t.toml"
        )
        #expect(configuration.node.stateDirectory == "/srv/outpost")
        #expect(configuration.effectiveNodeName == "render-07")
        #expect(configuration.control.socket == "/run/o.sock")
        #expect(configuration.control.socketMode == 0o600)
        #expect(configuration.control.maxConnections == 8)
        #expect(configuration.control.maxConnectionsPerUser == 3)
        #expect(configuration.control.idleTimeoutSeconds == 45)
        #expect(configuration.control.maxMessageBytes == 65536)
        #expect(configuration.control.superusers == ["alice", "bob"])
        #expect(configuration.log.level == .debug)
        let requests = configuration.requests
        #expect(requests.workers == 2 && requests.maxPendingPerUser == 50 && requests.maxFinishedPerUser == 20)
        #expect(requests.timeLimitSeconds == 600 && requests.intervalSeconds == 120)
        #expect(requests.maxResultBytesPerUser == 1 << 20)
        let lanes = configuration.lanes
        #expect(lanes.lanes.count == 3 && lanes.lanes.cpus == 2 && lanes.lanes.memoryLimitBytes == 1 << 30)
        #expect(lanes.lanes.maxRuntimeSeconds == 3600 && lanes.lanes.maxRestarts == 5 && lanes.lanes.finishedKept == 10)
        #expect(lanes.controlGroup == "render" && lanes.outputLimitBytes == 1 << 20 && lanes.killGraceSeconds == 2)
        #expect(lanes.checkIntervalMilliseconds == 250 && lanes.niceness == 10)
        let coordinator = configuration.coordinator
        #expect(coordinator.url == "https://coordinator.example.org:8470" && coordinator.checkinIntervalSeconds == 30)
        #expect(coordinator.enrollmentTokenFile == "/etc/outpost/enrollment.token")
        #expect(coordinator.caFile == "/etc/outpost/ca.pem" && coordinator.whenDisabled == .pause)
        #expect(
            coordinator.description == "rack 4" && coordinator.site == "hq" && coordinator.clientType == .userServer
        )
        #expect(coordinator.metadata == ["rack": "4"])
    }

    @Test(
        "errors name the file, key and line",
        arguments: [
            ("[control]\nsocket_mode = 660\n", "t.toml:2: key 'control.socket_mode'"),
            ("[control]\nsuperusers = [\"a\", 1]\n", "t.toml:2: key 'control.superusers'"),
            ("[control]\nmax_message_bytes = 10\n", "t.toml:2: key 'control.max_message_bytes': must be between"),
            ("node = 3\n", "t.toml:1: key 'node': must be a table"),
            ("[node]\nname = \"\"\n", "t.toml:2: key 'node.name'"),
            ("[log]\nlevels = \"info\"\n", "t.toml:2: key 'log.levels': unknown key in [log] (known keys: level)"),
            ("\n\n[node\n", "t.toml:3: "),
            ("[lanes]\nniceness = 20\n", "t.toml:2: key 'lanes.niceness': must be between 0 and 19"),
            ("[requests]\nmax_finished_per_user = 0\n", "t.toml:2: key 'requests.max_finished_per_user': must be"),
            ("[lanes]\nmemory = 1\n", "t.toml:2: key 'lanes.memory': unknown key in [lanes]"),
            ("[coordinator]\nurl = \"ftp://c\"\n", "t.toml:2: key 'coordinator.url': must start with https://"),
            ("[coordinator]\nwhen_disabled = \"stop\"\n", "t.toml:2: key 'coordinator.when_disabled': must be"),
            ("[coordinator]\nclient_type = \"app\"\n", "t.toml:2: key 'coordinator.client_type': must be"),
            ("[coordinator]\ncheckin_interval = 0\n", "t.toml:2: key 'coordinator.checkin_interval': must be"),
            ("[coordinator]\ntoken = \"x\"\n", "t.toml:2: key 'coordinator.token': unknown key in [coordinator]"),
        ]
    )
    func errors(text: String, expected: String) {
        #expect {
            _ = try NodeConfigurationLoader.parse(text: text, file: "t.toml")
        } throws: { error in
            "\(error)".hasPrefix(expected)
        }
    }

    @Test("command-line overrides win over the file")
    func overrides() throws {
        let overrides = CommandLineOverrides(stateDirectory: "/a", controlSocket: "/b.sock", logLevel: .trace)
        var configuration = try NodeConfigurationLoader.parse(text: "[log]\nlevel = \"error\"\n", file: "t")
        overrides.apply(to: &configuration)
        #expect(configuration.node.stateDirectory == "/a")
        #expect(configuration.control.socket == "/b.sock")
        #expect(configuration.log.level == .trace)
    }

    @Test("a missing default file means defaults; a missing explicit file is an error")
    func missingFiles() throws {
        let absent = "/nonexistent-\(UInt32.random(in: 0...UInt32.max))/outpostd.toml"
        #expect(
            try NodeConfigurationLoader.load(path: absent, isExplicit: false, overrides: .init()) == NodeConfiguration()
        )
        #expect(throws: ConfigurationError.self) {
            try NodeConfigurationLoader.load(path: absent, isExplicit: true, overrides: .init())
        }
    }
}
