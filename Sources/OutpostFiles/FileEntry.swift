#if canImport(Glibc)
import Glibc
#endif

/// One entry of an `ls` result, in accsyn's client API's shape.
public struct FileEntry: Sendable, Equatable {
    public enum Kind: Int, Sendable {
        case directory = 2
        case file = 4
        case symlink = 5
        /// A sandbox root: drive (8) | directory (2).
        case root = 10
        /// Sockets, FIFOs, devices: listed so nothing is hidden, with the type a file would have.
        case other = 0
    }

    public var name: String
    public var kind: Kind
    /// Bytes for a regular file; 0 for directories and symlinks.
    public var size: Int64
    /// Seconds since the epoch, to the microsecond (see `seconds(_:)`).
    public var modified: Double
    /// read 4 | write 2 | execute 1, for the caller.
    public var access: Int

    public init(name: String, kind: Kind, size: Int64, modified: Double, access: Int) {
        self.name = name
        self.kind = kind
        self.size = size
        self.modified = modified
        self.access = access
    }

    /// Builds an entry from `lstat`-style metadata.
    init(name: String, status: stat, caller: FileCaller) {
        let type = status.st_mode & S_IFMT
        switch type {
        case S_IFDIR: kind = .directory
        case S_IFREG: kind = .file
        case S_IFLNK: kind = .symlink
        default: kind = .other
        }
        self.name = name
        size = kind == .file ? Int64(status.st_size) : 0
        modified = Self.seconds(status.st_mtim)
        access = caller.access(to: status)
    }

    /// A file time in seconds, truncated to the microsecond, as the nearest Double. A Double steps by 0.24 µs at
    /// today's dates, so nanoseconds would only add digits of rounding noise: this way the time is written in at
    /// most 16 digits and read back exactly by a decimal parser's fast path, not its slow one.
    static func seconds(_ time: timespec) -> Double {
        let (microseconds, overflow) = Int64(time.tv_sec).multipliedReportingOverflow(by: 1_000_000)
        guard !overflow else { return Double(time.tv_sec) }
        // One division of two exact values: rounded once, to the Double nearest the decimal time.
        return Double(microseconds + Int64(time.tv_nsec) / 1000) / 1_000_000
    }
}

/// The Unix identity an operation is done for: what `access` bits are computed against.
public struct FileCaller: Sendable, Equatable {
    public var uid: UInt32
    public var groups: Set<UInt32>

    public init(uid: UInt32, groups: Set<UInt32>) {
        self.uid = uid
        self.groups = groups
    }

    /// The caller's primary and supplementary groups from the group database.
    public init(uid: UInt32, gid: UInt32, userName: String) {
        var count: Int32 = 64
        var list = [gid_t](repeating: 0, count: Int(count))
        if getgrouplist(userName, gid, &list, &count) < 0 {
            list = [gid_t](repeating: 0, count: Int(count))
            _ = getgrouplist(userName, gid, &list, &count)
        }
        self.init(uid: uid, groups: Set(list.prefix(Int(max(count, 0)))).union([gid]))
    }

    /// read 4 | write 2 | execute 1, as the kernel would decide them for this user (root passes read and write
    /// checks, and execute when any execute bit is set).
    func access(to status: stat) -> Int {
        let mode = Int(status.st_mode)
        if uid == 0 {
            let anyExecute = mode & 0o111 != 0 || (status.st_mode & S_IFMT) == S_IFDIR
            return 6 | (anyExecute ? 1 : 0)
        }
        let bits: Int
        if status.st_uid == uid {
            bits = (mode >> 6) & 7
        } else if groups.contains(status.st_gid) {
            bits = (mode >> 3) & 7
        } else {
            bits = mode & 7
        }
        return bits
    }
}
