import Synchronization

/// Shared between a running file operation and whoever started it: a cancel flag the operation checks between
/// entries (so a huge `du` or `rm` stops promptly), and a count of entries done for progress lines.
public final class OperationControl: Sendable {
    private let cancelled = Atomic<Bool>(false)
    private let entries = Atomic<Int>(0)

    public init() {}

    public func cancel() {
        cancelled.store(true, ordering: .relaxed)
    }

    public var isCancelled: Bool { cancelled.load(ordering: .relaxed) }

    public var entriesDone: Int { entries.load(ordering: .relaxed) }

    func count(_ number: Int = 1) {
        entries.add(number, ordering: .relaxed)
    }

    func checkCancelled(_ path: String) throws(FileOperationError) {
        if isCancelled { throw FileOperationError(.cancelled, path: path, message: "\(path): cancelled") }
    }
}
