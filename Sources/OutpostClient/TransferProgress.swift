import Synchronization

/// How far a file transfer is, read by the thread that draws the progress bar while the transfer runs elsewhere.
public final class TransferProgress: Sendable {
    public enum Phase: Int, Sendable {
        /// Hashing a file before an upload, or the part of a download already here before resuming.
        case checksumming = 0
        case transferring = 1
        /// The node checks the upload's checksum, or the download is being flushed and checked.
        case verifying = 2
    }

    private let doneBytes = Atomic<Int64>(0)
    private let totalBytes = Atomic<Int64>(-1)
    private let phaseValue = Atomic<Int>(Phase.checksumming.rawValue)

    public init() {}

    /// Bytes done in the current phase, counting what an earlier, interrupted run left.
    public var done: Int64 { doneBytes.load(ordering: .relaxed) }
    /// The file's size, once known.
    public var total: Int64? {
        let value = totalBytes.load(ordering: .relaxed)
        return value < 0 ? nil : value
    }
    public var phase: Phase { Phase(rawValue: phaseValue.load(ordering: .relaxed)) ?? .transferring }

    func start(_ phase: Phase, done: Int64, total: Int64?) {
        doneBytes.store(done, ordering: .relaxed)
        totalBytes.store(total ?? -1, ordering: .relaxed)
        phaseValue.store(phase.rawValue, ordering: .relaxed)
    }

    func add(_ count: Int) {
        doneBytes.add(Int64(count), ordering: .relaxed)
    }
}

/// What a finished transfer did.
public struct TransferSummary: Sendable {
    /// Where the file ended up: the local path of a download, the node's sandbox path of an upload.
    public var destination: String
    public var size: Int64
    /// Where this run started: 0, or the bytes an interrupted run had already moved.
    public var resumedAt: Int64
    /// The SHA-256 both ends agreed on (hex); nil when not verified.
    public var verifiedSHA256: String?
}
