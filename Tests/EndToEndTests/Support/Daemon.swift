import OutpostClient
import OutpostRPC

#if canImport(Glibc)
import Glibc
#endif

/// Where the binaries under test are: next to the test bundle, in SwiftPM's build directory, or where
/// `OUTPOST_TEST_BINARIES` says (to run the end-to-end tests against a release build:
/// `OUTPOST_TEST_BINARIES=$(swift build -c release --show-bin-path) swift test --skip-build`).
enum BuiltProducts {
    static var directory: String {
        if let override = getenv("OUTPOST_TEST_BINARIES"), override.pointee != 0 { return String(cString: override) }
        let bundle = CommandLine.arguments[0]
        return String(bundle[..<(bundle.lastIndex(of: "/") ?? bundle.startIndex)])
    }

    static func path(_ name: String) throws -> String {
        let path = directory + "/" + name
        guard access(path, X_OK) == 0 else {
            throw TestFailure("\(path) is not built: run `swift build --build-tests` before `swift test --skip-build`")
        }
        return path
    }
}

/// A real outpostd started for a test, in its own temporary state directory and socket.
final class Daemon: @unchecked Sendable {
    let directory: TemporaryDirectory
    let process: ChildProcess
    let socketPath: String
    let stateDirectory: String

    /// Starts outpostd and waits until its control socket answers.
    /// - Parameters:
    ///   - config: configuration text written to a file and passed with `--config`, if given.
    ///   - environment: extra environment variables (e.g. `NOTIFY_SOCKET`).
    ///   - waitForSocket: false to return right after spawning.
    init(
        config: String? = nil,
        environment: [String: String] = [:],
        extraArguments: [String] = [],
        directory: TemporaryDirectory? = nil,
        waitForSocket: Bool = true
    ) throws {
        let directory = try directory ?? TemporaryDirectory()
        self.directory = directory
        socketPath = directory.file("control.sock")
        stateDirectory = directory.file("state")
        var arguments = ["--state-directory", stateDirectory, "--control-socket", socketPath]
        if let config {
            let configPath = directory.file("outpostd.toml")
            try writeFile(configPath, config)
            arguments += ["--config", configPath]
        }
        var fullEnvironment = ["PATH": "/usr/bin:/bin", "HOME": directory.path]
        // The hostile-path suites run once more with the resolver that works without openat2.
        if let resolver = getenv("OUTPOST_RESOLVER") { fullEnvironment["OUTPOST_RESOLVER"] = String(cString: resolver) }
        fullEnvironment.merge(environment) { _, new in new }
        process = try ChildProcess(
            try BuiltProducts.path("outpostd"),
            arguments + extraArguments,
            environment: fullEnvironment,
            directory: directory
        )
        if waitForSocket {
            let socketPath = self.socketPath
            let answered = try eventually {
                (try? ControlClient(socketPath: socketPath).call("echo", ["text": "up"])) == "up"
            }
            guard answered else { throw TestFailure("outpostd did not answer; stderr:\n\(process.standardError)") }
        }
    }

    func client(timeoutSeconds: Double = 10) throws -> ControlClient {
        try ControlClient(socketPath: socketPath, timeoutSeconds: timeoutSeconds)
    }

    /// SIGTERM, then the exit status.
    @discardableResult
    func stop() throws -> Int32 {
        process.signal(SIGTERM)
        return try process.waitForExit(timeout: .seconds(10))
    }
}
