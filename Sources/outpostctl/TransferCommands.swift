import ArgumentParser
import OutpostClient
import OutpostRPC

/// Options of `get` and `put`.
struct TransferOptions: ParsableArguments {
    @Flag(name: .long, help: "Start over instead of resuming what an interrupted run left.")
    var noResume = false

    @Flag(name: .long, help: "Skip the SHA-256 check of the whole file at both ends.")
    var noVerify = false

    @Flag(name: .long, help: "Draw no progress bar (it is drawn on stderr when stderr is a terminal).")
    var quiet = false
}

extension GlobalOptions {
    /// `--remote` and its token for a file transfer, which has no local-socket form.
    func remoteTransfer(progress: TransferProgress) throws -> RemoteFileTransfer {
        do {
            guard let endpoint = try remoteEndpoint() else {
                throw ControlClientError(
                    code: .usage,
                    message: "file transfers go over a node's remote listener: pass --remote wss://HOST:PORT and "
                        + "--token-file (for a local node, the files are already here)"
                )
            }
            return RemoteFileTransfer(endpoint: endpoint, signIn: try remoteSignIn(), progress: progress)
        } catch {
            throw CommandFailure(error)
        }
    }

    /// The line `get` and `put` end with, or its JSON.
    func report(_ verb: String, _ source: String, _ summary: TransferSummary, seconds: Double) {
        var object: [String: JSONValue] = [
            "source": .string(source), "destination": .string(summary.destination), "size": .integer(summary.size),
            "resumedAt": .integer(summary.resumedAt), "seconds": .double(seconds),
        ]
        if let sha256 = summary.verifiedSHA256 { object["sha256"] = .string(sha256) }
        output(.object(object)) {
            let moved = Double(summary.size - summary.resumedAt)
            var line = "\(verb) \(source) to \(summary.destination): \(ByteCount.text(summary.size))"
            line += " in \(ProgressBar.decimal(seconds)) s (\(ByteCount.text(Int64(moved / max(seconds, 0.001))))/s)"
            if summary.resumedAt > 0 { line += ", resumed at \(ByteCount.text(summary.resumedAt))" }
            line += summary.verifiedSHA256.map { ", sha-256 \($0) verified" } ?? ", not verified"
            return line
        }
    }
}

/// `outpostctl get ROOT:path [LOCAL]`: download a file from a remote node.
struct GetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "get",
        abstract: "Download a file from a remote node (--remote), resumably, and verify it.",
        discussion: """
            The file arrives as .NAME.outpost-partial beside LOCAL and is renamed into place once complete and \
            verified. Run the same command again after an interruption and it resumes where it stopped, unless the \
            node's file changed meanwhile.
            """
    )
    @OptionGroup var global: GlobalOptions
    @OptionGroup var options: TransferOptions
    @Argument(help: ArgumentHelp("The file on the node, as ROOT:path.", valueName: "root:path"))
    var remotePath: String
    @Argument(help: ArgumentHelp("Where to put it (default: the current directory).", valueName: "local"))
    var localPath: String = "."

    func run() throws {
        let progress = TransferProgress()
        let transfer = try global.remoteTransfer(progress: progress)
        let (remotePath, localPath, options) = (self.remotePath, self.localPath, self.options)
        let (summary, seconds) = try ProgressBar.run(progress, label: remotePath, quiet: options.quiet) {
            () async throws(ControlClientError) -> TransferSummary in
            try await transfer.download(remotePath, to: localPath, resume: !options.noResume, verify: !options.noVerify)
        }
        global.report("downloaded", remotePath, summary, seconds: seconds)
    }
}

/// `outpostctl put LOCAL ROOT:path`: upload a file to a remote node.
struct PutCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "put",
        abstract: "Upload a file to a remote node (--remote), resumably, and verified before it replaces anything.",
        discussion: """
            The node keeps the bytes as .NAME.outpost-partial beside the target and renames it into place only once \
            complete and matching the file's SHA-256. Run the same command again after an interruption and only \
            the rest is sent.
            """
    )
    @OptionGroup var global: GlobalOptions
    @OptionGroup var options: TransferOptions
    @Argument(help: ArgumentHelp("The local file.", valueName: "local"))
    var localPath: String
    @Argument(help: ArgumentHelp("Where on the node, as ROOT:path.", valueName: "root:path"))
    var remotePath: String

    func run() throws {
        let progress = TransferProgress()
        let transfer = try global.remoteTransfer(progress: progress)
        let (remotePath, localPath, options) = (self.remotePath, self.localPath, self.options)
        let (summary, seconds) = try ProgressBar.run(progress, label: localPath, quiet: options.quiet) {
            () async throws(ControlClientError) -> TransferSummary in
            try await transfer.upload(localPath, to: remotePath, resume: !options.noResume, verify: !options.noVerify)
        }
        global.report("uploaded", localPath, summary, seconds: seconds)
    }
}
