import ArgumentParser

#if canImport(Glibc)
import Glibc
#endif

/// `outpostctl`: the command line for outpostd's control socket.
struct Outpostctl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "outpostctl",
        abstract: "Control a running outpostd over its control socket, or a remote node over TLS (--remote).",
        discussion: """
            Exit status: 0 success, 1 outpostd answered with an error, 64 usage error, 69 outpostd is not running, \
            74 socket I/O error, 75 timed out or a limit was reached, 76 protocol error, 77 permission denied.
            """,
        subcommands: [
            InfoCommand.self, EchoCommand.self, ListCommand.self, RootsCommand.self, DiskUsageCommand.self,
            MakeDirectoryCommand.self, MoveCommand.self, RemoveCommand.self, RequestCommand.self,
            SandboxCommand.self, GarbageCollectCommand.self, EventsCommand.self, StatusCommand.self, WatchCommand.self,
            LaneModeCommand.Pause.self, LaneModeCommand.Resume.self, LaneModeCommand.Finish.self, AbortCommand.self,
            SubmitCommand.self, CoordinatorCommand.self, UserCommand.self, TokenCommand.self, GetCommand.self,
            PutCommand.self,
        ]
    )
}

do {
    var command = try Outpostctl.parseAsRoot(
        LeadingGlobalOptions.reorder(Array(CommandLine.arguments.dropFirst()), root: Outpostctl.self)
    )
    try command.run()
} catch let failure as CommandFailure {
    FileHandleStandardError.write("outpostctl: \(failure.message)\n")
    exit(failure.exitCode)
} catch {
    Outpostctl.exit(withError: error)
}

/// Writes to stderr without Foundation.
enum FileHandleStandardError {
    static func write(_ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { Glibc.write(STDERR_FILENO, $0.baseAddress, $0.count) }
    }
}
