import CLinuxShims
import OutpostCore
import OutpostFiles

#if canImport(Glibc)
import Glibc
#endif

/// Where one task lives: `<lanes>/tasks/<id>/` holds `slot/` (the task's working directory: inputs, checkpoints,
/// outputs), `stdout` and `stderr` (written by the daemon, capped) and `progress`. A restarted task finds its slot
/// as it left it, so checkpoint files carry over.
public struct TaskDirectory: Sendable {
    public let tasksDirectory: String
    public let taskID: Int64

    public init(tasksDirectory: String, taskID: Int64) {
        self.tasksDirectory = tasksDirectory
        self.taskID = taskID
    }

    public var path: String { "\(tasksDirectory)/\(taskID)" }
    public var slot: String { "\(path)/slot" }
    public var standardOutput: String { "\(path)/stdout" }
    public var standardError: String { "\(path)/stderr" }
    public var progressFile: String { "\(path)/progress" }

    /// The tasks directory as a sandbox: slot paths below it are opened with `openat2(RESOLVE_BENEATH)`, so a
    /// symlink the task left in its slot is never followed out.
    private var resolver: SandboxResolver { SandboxResolver(roots: .roots(["tasks": tasksDirectory])) }

    private func sandboxPath(_ relative: String) throws -> SandboxPath {
        try SandboxPath("tasks:\(taskID)/\(relative)")
    }

    /// Creates the directories (a spare pair, when there is one: see `SpareTaskDirectories`); copies the input files
    /// the first time (a restart keeps what the task changed).
    func prepare(inputs: [TaskSpecification.InputFile], spares: SpareTaskDirectories? = nil) throws {
        // A restarted task's directory is already there; `take` never replaces it.
        if spares?.take(as: taskID) != true {
            try FileMutations.makeDirectory(try sandboxPath("slot"), resolver: resolver)
        }
        for input in inputs {
            let destination = "\(slot)/\(input.name)"
            if access(destination, F_OK) == 0 { continue }
            if let slash = input.name.lastIndex(of: "/") {
                try FileMutations.makeDirectory(try sandboxPath("slot/\(input.name[..<slash])"), resolver: resolver)
            }
            if link(input.source, destination) == 0 { continue }
            try copyFile(from: input.source, to: destination)
        }
    }

    /// Copies into `<destination>.partial`, flushes, then renames: a crash never leaves a half input under its name.
    private func copyFile(from source: String, to destination: String) throws(LaneError) {
        let input = open(source, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw .system("cannot read the input file \(source)", errno: errno) }
        defer { close(input) }
        let partial = destination + ".partial"
        let output = open(partial, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard output >= 0 else { throw .system("cannot create \(destination)", errno: errno) }
        var copied = 0
        repeat {
            copied = outpost_copy_file_range(input, output, 1 << 26)
        } while copied > 0 || (copied < 0 && errno == EINTR)
        let failure = copied < 0 || fsync(output) != 0 ? errno : 0
        close(output)
        guard failure == 0, rename(partial, destination) == 0 else {
            let code = failure == 0 ? errno : failure
            unlink(partial)
            throw .system("cannot copy the input file \(source) to \(destination)", errno: code)
        }
    }

    /// The progress the task last wrote (a fraction 0…1), or nil.
    func readProgress() -> Double? {
        guard let bytes = SmallFile.read(progressFile, limit: 64) else { return nil }
        let text = String(decoding: bytes, as: UTF8.self).filter { !$0.isWhitespace }
        guard let value = Double(text), value.isFinite else { return nil }
        return min(1, max(0, value))
    }

    /// Removes the whole task directory (after its result was reported), never following a symlink the task left.
    func remove() throws {
        try FileMutations.remove(try SandboxPath("tasks:\(taskID)"), resolver: resolver, control: OperationControl())
    }
}
