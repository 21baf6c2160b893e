#if canImport(Glibc)
import Glibc
#endif

/// A task's standard output or error, written to a file that never grows past `capacity` bytes: what comes after is
/// counted and dropped, so a child that floods its output cannot fill the disk. Standard error also keeps its last
/// `tailCapacity` bytes in memory, for the result report.
///
/// The file is created with the first byte: a task that writes nothing leaves no file (an absent file reads as
/// empty). Most short tasks write nothing, and two fewer inodes per task is a measurable share of a short task's
/// cost. A file left by an earlier attempt of the task is removed at once, so it is never mistaken for this one's.
struct CappedOutputFile: ~Copyable {
    private let path: String
    private var fd: Int32 = -1
    /// Set when the file could not be created: the output is then dropped and counted.
    private var unwritable = false
    let capacity: Int64
    private(set) var written: Int64 = 0
    private(set) var dropped: Int64 = 0
    private let tailCapacity: Int
    private var tail: [UInt8] = []

    init(path: String, capacity: Int64, tailCapacity: Int = 0) {
        self.path = path
        unlink(path)
        self.capacity = capacity
        self.tailCapacity = tailCapacity
    }

    deinit {
        if fd >= 0 { close(fd) }
    }

    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        if fd < 0 && !unwritable && !bytes.isEmpty {
            fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
            unwritable = fd < 0
        }
        let room = fd < 0 ? 0 : Int(max(0, capacity - written))
        let kept = min(room, bytes.count)
        var offset = 0
        while offset < kept {
            let count = Glibc.write(fd, bytes.baseAddress! + offset, kept - offset)
            if count < 0 {
                if errno == EINTR { continue }
                break  // a full disk: the bytes are dropped and counted, the task is not stalled
            }
            offset += count
        }
        written += Int64(offset)
        dropped += Int64(bytes.count - offset)
        if tailCapacity > 0 {
            tail.append(contentsOf: bytes.suffix(tailCapacity))
            if tail.count > 2 * tailCapacity { tail.removeFirst(tail.count - tailCapacity) }
        }
    }

    /// The last `tailCapacity` bytes, as text (invalid UTF-8 repaired).
    var tailText: String {
        String(decoding: tail.suffix(tailCapacity), as: UTF8.self)
    }
}
