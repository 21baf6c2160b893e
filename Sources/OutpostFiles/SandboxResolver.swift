import CLinuxShims

#if canImport(Glibc)
import Glibc
#endif

/// Opens paths inside a caller's sandbox so that nothing can reach outside it.
///
/// Every path is opened with `openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS)` relative to its root's directory fd
/// (or, without openat2, by a walk of one component at a time that keeps the same rules: `outpost_openat_beneath`):
/// the kernel, not string handling, refuses `..` above the root, absolute symlinks and symlinks that point out, and it
/// does so at the moment of the open, so a tree changed by someone else during an operation cannot redirect it either.
/// Operations then work through the returned directory fds (`*at` calls with `AT_SYMLINK_NOFOLLOW`), never by path.
public struct SandboxResolver: Sendable {
    public let roots: SandboxRoots
    /// Who the operations act as (`FileIdentity`); nil for the daemon itself (a superuser, the lanes).
    public let identity: FileIdentity?

    public init(roots: SandboxRoots, identity: FileIdentity? = nil) {
        self.roots = roots
        self.identity = identity
    }

    /// Runs a file operation as the resolver's user: every entry point of `FileListing`, `FileMutations` and
    /// `SandboxTransfers` goes through here.
    public func acting<Result>(
        _ body: () throws(FileOperationError) -> Result
    ) throws(FileOperationError) -> Result {
        try FileIdentity.perform(as: identity, body)
    }

    /// How paths are resolved on this machine: "openat2", or "component walk" where the kernel has no openat2 (before
    /// 5.6) or a seccomp filter refuses it. Both keep the same rules; the daemon logs which at start.
    public static var kernelResolver: String {
        outpost_openat2_available() == 1 ? "openat2" : "component walk"
    }

    /// The real directory behind `path`'s root name.
    public func rootDirectory(of path: SandboxPath) throws(FileOperationError) -> String {
        switch roots {
        case .unrestricted:
            guard path.rootName.isEmpty else {
                throw FileOperationError(
                    .unknownRoot,
                    path: path.text,
                    message: "\(path.text): unknown sandbox root '\(path.rootName)'"
                )
            }
            return "/"
        case .roots(let named):
            guard let directory = named[path.rootName] else {
                let message =
                    named.isEmpty
                    ? "\(path.text): you have no sandbox on this node (ask an admin for a sandbox mapping)"
                    : "\(path.text): unknown sandbox root '\(path.rootName)' (yours: \(named.keys.sorted().map { "'\($0)'" }.joined(separator: ", ")))"
                throw FileOperationError(.unknownRoot, path: path.text, message: message)
            }
            return directory
        }
    }

    /// Opens `path`'s root directory (`outpost_o_path`), for `*at` calls relative to it, never through a symlink a
    /// user could have swapped in (`SandboxRootOpener`).
    public func openRoot(of path: SandboxPath) throws(FileOperationError) -> OwnedDescriptor {
        let directory = try rootDirectory(of: path)
        do {
            return try SandboxRootOpener.open(directory)
        } catch {
            // The message names the configured directory only when the walk found a symlink: that part of the path
            // is what an admin must fix, and the caller is its user.
            throw FileOperationError(
                Self.code(forRootError: error.errno),
                path: path.text,
                message: "\(path.text): the sandbox root is not available (\(error.message))",
                errno: error.errno
            )
        }
    }

    private static func code(forRootError error: Int32) -> FileOperationError.Code {
        switch error {
        case ELOOP: .escapesSandbox
        case EACCES, EPERM: .permissionDenied
        case ENOENT: .notFound
        default: .system
        }
    }

    /// Opens `relative` beneath `directory` with `flags`; "" opens the directory itself.
    public static func openBeneath(
        _ directory: borrowing OwnedDescriptor,
        _ relative: String,
        flags: Int32,
        mode: mode_t = 0,
        displayPath: String
    ) throws(FileOperationError) -> OwnedDescriptor {
        let bytes = relative.isEmpty ? [UInt8(ascii: ".")] : FileName.bytes(relative)
        let fd = bytes.withCName { outpost_openat_beneath(directory.raw, $0, flags, UInt32(mode), 0) }
        guard fd >= 0 else { throw FileOperationError.system(errno, path: displayPath, doing: "open") }
        return OwnedDescriptor(fd)
    }

    /// Opens the directory that contains `path` and returns it with the final name, for operations on the entry itself
    /// (lstat, unlink, rename) that must not follow a final symlink.
    public func openParent(of path: SandboxPath) throws(FileOperationError) -> DirectoryEntryHandle {
        let root = try openRoot(of: path)
        var components = path.relative.split(separator: "/").map(String.init)
        guard let name = components.popLast() else {
            throw FileOperationError(.refused, path: path.text, message: "\(path.text) is a sandbox root")
        }
        if name == "." || name == ".." {  // (escaped bytes never spell a dot)
            throw FileOperationError(.invalidPath, path: path.text, message: "\(path.text): cannot end in '\(name)'")
        }
        let parent = try Self.openBeneath(
            root,
            components.joined(separator: "/"),
            flags: outpost_o_path | O_DIRECTORY,
            displayPath: path.text
        )
        return DirectoryEntryHandle(parent: parent, name: FileName.bytes(name))
    }
}

/// A directory entry addressed safely: its parent directory, opened beneath the sandbox root, and its name in it.
public struct DirectoryEntryHandle: ~Copyable {
    public let parent: OwnedDescriptor
    /// The name's bytes, as the kernel knows it.
    public let name: [UInt8]
}
