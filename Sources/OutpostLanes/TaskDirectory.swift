import OutpostFiles

#if canImport(Glibc)
import Glibc
#endif

/// Where one task lives: `<lanes>/tasks/<id>/` holds `slot/` (the task's working directory: inputs, checkpoints,
/// outputs), `stdout` and `stderr` (written by the daemon, capped) and `progress`. A restarted task finds its slot
/// as it left it, so checkpoint files carry over.
public struct TaskDirectory: Sendable {
    public let path: String

    public init(tasksDirectory: String, taskID: Int64) {
        path = "\(tasksDirectory)/\(taskID)"
    }

    public var slot: String { "\(path)/slot" }
    public var standardOutput: String { "\(path)/stdout" }
    public var standardError: String { "\(path)/stderr" }
    public var progressFile: String { "\(path)/progress" }

    /// Creates the directories; copies the input files the first time (hard links when on the same file system).
    func prepare(inputs: [TaskSpecification.InputFile]) throws(LaneError) {
        for directory in [path, slot] {
            if mkdir(directory, 0o700) != 0 && errno != EEXIST {
                throw .system("cannot create the task directory \(directory)", errno: errno)
            }
        }
        for input in inputs {
            let destination = "\(slot)/\(input.name)"
            if access(destination, F_OK) == 0 { continue }  // a restart: the task may have changed it
            if let slash = input.name.lastIndex(of: "/") {
                try makeParents("\(slot)/\(input.name[..<slash])")
            }
            if link(input.source, destination) == 0 { continue }
            try copyFile(from: input.source, to: destination)
        }
    }

    private func makeParents(_ directory: String) throws(LaneError) {
        var current = ""
        for component in directory.split(separator: "/") {
            current += "/\(component)"
            if mkdir(current, 0o700) != 0 && errno != EEXIST {
                throw .system("cannot create \(current)", errno: errno)
            }
        }
    }

    private func copyFile(from source: String, to destination: String) throws(LaneError) {
        let input = open(source, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw .system("cannot read the input file \(source)", errno: errno) }
        defer { close(input) }
        let partial = destination + ".partial"
        let output = open(partial, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard output >= 0 else { throw .system("cannot create \(destination)", errno: errno) }
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count < 0 {
                let code = errno
                close(output)
                unlink(partial)
                throw .system("cannot read the input file \(source)", errno: code)
            }
            if count == 0 { break }
            var offset = 0
            while offset < count {
                let written = buffer.withUnsafeBytes { write(output, $0.baseAddress! + offset, count - offset) }
                if written < 0 && errno == EINTR { continue }
                if written < 0 {
                    let code = errno
                    close(output)
                    unlink(partial)
                    throw .system("cannot write \(destination)", errno: code)
                }
                offset += written
            }
        }
        guard fsync(output) == 0, close(output) == 0, rename(partial, destination) == 0 else {
            let code = errno
            unlink(partial)
            throw .system("cannot finish copying to \(destination)", errno: code)
        }
    }

    /// The progress the task last wrote (a fraction 0…1), or nil.
    func readProgress() -> Double? {
        let fd = open(progressFile, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 64)
        let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard count > 0 else { return nil }
        let text = String(decoding: buffer[..<count], as: UTF8.self).filter { !$0.isWhitespace }
        guard let value = Double(text), value.isFinite else { return nil }
        return min(1, max(0, value))
    }

    /// Removes the whole task directory (after its result was reported), never following a symlink the task left:
    /// the removal goes through the sandbox resolver, rooted at the tasks directory.
    func remove(tasksDirectory: String, taskID: Int64) throws {
        let resolver = SandboxResolver(roots: .roots(["tasks": tasksDirectory]))
        try FileMutations.remove(SandboxPath("tasks:\(taskID)"), resolver: resolver, control: OperationControl())
    }
}
