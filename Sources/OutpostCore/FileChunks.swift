#if canImport(Glibc)
import Glibc
#endif

/// A file read as an async sequence of chunks, for HTTP request bodies that must not be held in memory whole (an app,
/// an input, an output of a gigabyte). It owns its descriptor: opened at `init`, closed when the last chunk is read
/// or when the sequence is dropped.
public final class FileChunks: AsyncSequence, @unchecked Sendable {
    // @unchecked: one consumer iterates it (HTTP clients read a body once); the descriptor is touched by nobody else.
    public typealias Element = [UInt8]

    private var descriptor: Int32
    public let size: Int64
    private let chunkSize: Int

    /// Opens `path` and positions it at `offset`; nil (with `errno` set) when it cannot be read.
    public init?(path: String, offset: Int64 = 0, chunkSize: Int = 1 << 20) {
        descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        var status = stat()
        guard fstat(descriptor, &status) == 0, lseek(descriptor, off_t(offset), SEEK_SET) == off_t(offset) else {
            close(descriptor)
            return nil
        }
        size = Int64(status.st_size) - offset
        self.chunkSize = chunkSize
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let chunks: FileChunks

        public mutating func next() async throws -> [UInt8]? {
            try chunks.readChunk()
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(chunks: self)
    }

    /// The next chunk, read synchronously (for callers outside an async context); nil at the end.
    public func next() throws -> [UInt8]? {
        try readChunk()
    }

    func readChunk() throws -> [UInt8]? {
        guard descriptor >= 0 else { return nil }
        var buffer = [UInt8](repeating: 0, count: chunkSize)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { throw FileChunksError(errno: errno) }
            if count == 0 {
                close(descriptor)
                descriptor = -1
                return nil
            }
            buffer.removeLast(buffer.count - count)
            return buffer
        }
    }
}

public struct FileChunksError: Error, Sendable, CustomStringConvertible {
    public let errno: Int32
    public var description: String { "cannot read: \(String(cString: strerror(errno)))" }
}
