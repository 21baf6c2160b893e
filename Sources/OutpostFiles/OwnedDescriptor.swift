#if canImport(Glibc)
import Glibc
#endif

/// A file descriptor that closes itself: non-copyable, so it cannot escape the scope that opened it or be closed twice
/// or leak.
public struct OwnedDescriptor: ~Copyable {
    public let raw: Int32

    public init(_ raw: Int32) {
        self.raw = raw
    }

    /// Hands the descriptor over to code that closes it itself.
    public consuming func release() -> Int32 {
        let fd = raw
        discard self
        return fd
    }

    deinit {
        close(raw)
    }
}
