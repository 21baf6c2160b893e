import ArgumentParser
import FoundationEssentials
import Logging
import OutpostCore
import OutpostNode
import OutpostService

#if canImport(Glibc)
import Glibc
#endif

// Before anything else, and before any thread exists: sd_listen_fds unsets LISTEN_* with unsetenv(3).
let inheritedSockets = SocketActivation.takeInheritedSockets()

/// outpostd's command line. Everything else is in the configuration file; these flags win over it.
struct OutpostdOptions: ParsableArguments {
    static let configuration = CommandConfiguration(
        commandName: "outpostd",
        abstract: "The Outpost node daemon: compute lanes, file requests and a control API for this machine.",
        version: OutpostVersion.version
    )

    @Option(name: .long, help: ArgumentHelp("The configuration file.", valueName: "path"))
    var config: String?

    @Option(name: .long, help: ArgumentHelp("Overrides [node] state_directory.", valueName: "path"))
    var stateDirectory: String?

    @Option(name: .long, help: ArgumentHelp("Overrides [control] socket.", valueName: "path"))
    var controlSocket: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Overrides [log] level: trace, debug, info, notice, warning, error, critical.",
            valueName: "level"
        )
    )
    var logLevel: String?

    @Flag(
        name: .long,
        help: """
            Run as a login user's own server (systemctl --user): configuration, state and socket in the user's XDG \
            directories, the user's home as the sandbox.
            """
    )
    var user = false

    @Flag(name: .long, help: "Print the version and exit.")
    var version = false
}

let options = OutpostdOptions.parseOrExit()
if options.version {
    print("outpostd \(OutpostVersion.version) (build \(OutpostVersion.revision))")
    exit(0)
}
var logLevel: Logger.Level?
if let text = options.logLevel {
    guard let level = Logger.Level(rawValue: text) else {
        OutpostdOptions.exit(
            withError: ValidationError(
                "--log-level must be one of trace, debug, info, notice, warning, error, critical"
            )
        )
    }
    logLevel = level
}
let overrides = CommandLineOverrides(
    stateDirectory: options.stateDirectory,
    controlSocket: options.controlSocket,
    logLevel: logLevel
)
let source: ConfigurationSource
if options.user {
    let layout: UserServerLayout
    do {
        guard geteuid() != 0, let userName = UnixUser.name(of: geteuid()) else {
            throw ConfigurationError(
                file: "outpostd --user",
                message: "--user runs a login user's own server; root runs the system service (outpostd.service)"
            )
        }
        layout = try UserServerLayout(environment: ProcessInfo.processInfo.environment, userName: userName)
    } catch {
        let message = Array("outpostd: \(error)\n".utf8)
        _ = message.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
        exit(ConfigurationError.exitStatus)
    }
    source = ConfigurationSource(
        path: options.config ?? layout.configurationFile,
        isExplicit: options.config != nil,
        overrides: overrides,
        defaults: layout.defaults
    )
} else {
    source = ConfigurationSource(
        path: options.config ?? NodeConfigurationLoader.defaultPath,
        isExplicit: options.config != nil,
        overrides: overrides
    )
}
exit(await NodeDaemon.run(source: source, inheritedSockets: inheritedSockets))
