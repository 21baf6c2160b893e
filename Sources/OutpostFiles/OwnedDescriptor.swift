#if canImport(Glibc)
import Glibc
#endif

/// A file descriptor that closes itself: non-copyable, so it cannot escape the scope that opened it or be closed twice
/// (STYLE.md rule 4).
public struct OwnedDescriptor: ~Copyable {
    public let raw: Int32

    public init(_ raw: Int32) {
        self.raw = raw
    }

    deinit {
        close(raw)
    }
}
