import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A bad configuration stops outpostd before anything starts, with exit status 78 and the file, key and line.
@Suite("configuration errors at start (real outpostd)")
struct ConfigurationErrorTests {
    func start(config: String?, configPath: String? = nil) throws -> (ChildProcess, TemporaryDirectory) {
        let directory = try TemporaryDirectory()
        var arguments = [
            "--state-directory", directory.file("state"), "--control-socket", directory.file("control.sock"),
        ]
        if let config {
            try writeFile(directory.file("outpostd.toml"), config)
            arguments += ["--config", directory.file("outpostd.toml")]
        }
        if let configPath { arguments += ["--config", configPath] }
        let process = try ChildProcess(
            try BuiltProducts.path("outpostd"),
            arguments,
            environment: ["PATH": "/usr/bin:/bin"],
            directory: directory
        )
        return (process, directory)
    }

    @Test(
        "exit 78 with file, key and line",
        arguments: [
            ("[control]\nsocket_mode = \"0660\"\nmax_conections = 5\n", "control.max_conections", ":3"),
            ("[node]\n\nstate_directory = 42\n", "node.state_directory", ":3"),
            ("[log]\nlevel = \"loud\"\n", "log.level", ":2"),
            ("[control]\nmax_connections = 0\n", "control.max_connections", ":2"),
            ("[nodes]\nname = \"x\"\n", "nodes", ":1"),
            ("[control]\nsocket = \"relative/path\"\n", "control.socket", ":2"),
        ]
    )
    func badKey(config: String, key: String, line: String) throws {
        let (process, directory) = try start(config: config)
        #expect(try process.waitForExit(timeout: .seconds(10)) == 78)
        let message = process.standardError
        #expect(message.contains(directory.file("outpostd.toml") + line))
        #expect(message.contains("'\(key)'"))
        // Nothing half-started: no socket, no state.
        #expect(!fileExists(directory.file("control.sock")))
        #expect(!fileExists(directory.file("state")))
    }

    @Test("a syntax error names the line")
    func syntaxError() throws {
        let (process, directory) = try start(config: "[node]\nname = \"unterminated\n")
        #expect(try process.waitForExit(timeout: .seconds(10)) == 78)
        #expect(process.standardError.contains(directory.file("outpostd.toml") + ":2"))
    }

    @Test("an unreadable or missing --config file is a configuration error")
    func unreadable() throws {
        let directory = try TemporaryDirectory()
        // A directory (read fails with EISDIR) and a file that does not exist.
        for path in [directory.path, directory.file("missing.toml")] {
            let (process, logDirectory) = try start(config: nil, configPath: path)
            #expect(try process.waitForExit(timeout: .seconds(10)) == 78)
            #expect(process.standardError.contains(path))
            #expect(process.standardError.contains("cannot read"))
            withExtendedLifetime(logDirectory) {}
        }
    }

    @Test("a bad --log-level is a usage error")
    func badFlag() throws {
        let directory = try TemporaryDirectory()
        let process = try ChildProcess(
            try BuiltProducts.path("outpostd"),
            ["--log-level", "loud"],
            environment: [:],
            directory: directory
        )
        #expect(try process.waitForExit(timeout: .seconds(10)) == 64)
    }
}
