import ArgumentParser
import OutpostCoordinator
import OutpostCore

#if canImport(Glibc)
import Glibc
#endif

/// outpost-coordinator: the service (`serve`, the default) and the admin's command line over its API.
@main
struct CoordinatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "outpost-coordinator",
        abstract: "The Outpost coordinator: client registry, check-ins and the admin API.",
        version: "\(OutpostVersion.version) (build \(OutpostVersion.revision))",
        subcommands: [
            ServeCommand.self, TokenCommand.self, ClientsCommand.self, AppCommand.self, AccountCommand.self,
            SubmitCommand.self, ResultsCommand.self, CancelCommand.self, OutputCommand.self,
        ],
        defaultSubcommand: ServeCommand.self
    )
}

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the coordinator (what systemd starts)."
    )

    @Option(name: .long, help: ArgumentHelp("The configuration file.", valueName: "path"))
    var config: String?

    func run() async throws {
        let status = await CoordinatorDaemon.run(
            configurationPath: config ?? CoordinatorConfigurationLoader.defaultPath,
            isExplicit: config != nil
        )
        if status != 0 { throw ExitCode(status) }
    }
}
