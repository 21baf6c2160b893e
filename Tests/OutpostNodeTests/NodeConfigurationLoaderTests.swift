import Logging
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
        let text = try NodeConfigurationLoader.readFile(path)
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
                max_message_bytes = 65536
                superusers = ["alice", "bob"]
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
        #expect(configuration.control.maxMessageBytes == 65536)
        #expect(configuration.control.superusers == ["alice", "bob"])
        #expect(configuration.log.level == .debug)
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
