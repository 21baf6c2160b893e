import NIOCore
import NIOPosix

/// Writes a download to its file a megabyte at a time on NIO's thread pool, one write in flight, so that the caller
/// can hash each megabyte while it is being written.
///
/// Two buffers take turns, the one being filled and the one being written (a fresh megabyte per write would cost a
/// page fault per 4 KiB). The write task returns nothing, so once it is awaited and dropped the buffer it wrote has
/// one owner again and is refilled in place.
struct OverlappedWriter {
    let descriptor: Int32
    let path: String
    static let bufferBytes = 1 << 20
    private var filling: [UInt8] = []
    private var written: [UInt8] = []
    private var writing: Task<Void, any Error>?

    init(descriptor: Int32, path: String) {
        self.descriptor = descriptor
        self.path = path
        filling.reserveCapacity(Self.bufferBytes)
    }

    /// Adds bytes; when a megabyte is full, starts writing it and hands it to `whileWriting` (to hash it meanwhile).
    mutating func append(_ chunk: ByteBuffer, whileWriting: (UnsafeRawBufferPointer) -> Void) async throws {
        filling.append(contentsOf: chunk.readableBytesView)
        guard filling.count >= Self.bufferBytes else { return }
        try await startWrite(whileWriting)
    }

    /// Writes what is left, hands it to `whileWriting`, and waits for every write.
    mutating func finish(whileWriting: (UnsafeRawBufferPointer) -> Void) async throws {
        if !filling.isEmpty { try await startWrite(whileWriting) }
        try await drain()
    }

    /// Waits for the write under way, if any.
    mutating func drain() async throws {
        let task = writing
        writing = nil
        try await task?.value
    }

    private mutating func startWrite(_ whileWriting: (UnsafeRawBufferPointer) -> Void) async throws {
        try await drain()
        swap(&filling, &written)
        filling.removeAll(keepingCapacity: true)
        let (bytes, descriptor, path) = (written, self.descriptor, self.path)
        writing = Task { try await NIOThreadPool.singleton.runIfActive { try Self.write(bytes, descriptor, path) } }
        written.withUnsafeBytes(whileWriting)
    }

    /// A function of its own: written inline in the closure above, it crashed the 6.3 optimizer (ARCSequenceOpts).
    private static func write(_ bytes: [UInt8], _ descriptor: Int32, _ path: String) throws {
        var failure: TransferError?
        bytes.withUnsafeBytes { buffer in
            do throws(TransferError) {
                try FileSize.writeAll(descriptor, buffer, path: path)
            } catch {
                failure = error
            }
        }
        if let failure { throw failure }
    }
}
