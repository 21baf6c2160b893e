import CLinuxShims

#if canImport(Glibc)
import Glibc
#endif

/// Opens a sandbox root's directory without following a symlink that anyone but root could have put there.
///
/// A root such as `/scratch/alice` or `/srv/projects/alice/data` may sit in a directory its user can write to. If the
/// root were opened by its path in the ordinary way, the user could replace the last directory with a symlink to `/`
/// and every later request would run there, with the daemon's privileges. So the path is walked one component at a
/// time from `/`, each opened `O_PATH | O_NOFOLLOW`, and a symlink is followed only when it cannot have come from a
/// user: it belongs to root and sits in a directory that belongs to root and that neither its group nor others may
/// write (as `/home → /var/home` on Fedora's image-based systems). Any other symlink on the way refuses the root with
/// a message that names it.
///
/// The common case, a path without symlinks, costs one `openat2(RESOLVE_NO_SYMLINKS)`; the walk runs only when that
/// meets a symlink, or on kernels without `openat2`.
enum SandboxRootOpener {
    /// The most symlinks one root may pass through, as the kernel's own limit (ELOOP past 40).
    static let maximumSymlinks = 40

    struct Refusal: Error {
        let message: String
        let errno: Int32
    }

    /// The directory `path` (absolute) names, opened `O_PATH | O_DIRECTORY`.
    static func open(_ path: String) throws(Refusal) -> OwnedDescriptor {
        guard path.hasPrefix("/") else {
            throw Refusal(message: "'\(path)' is not an absolute path", errno: EINVAL)
        }
        guard outpost_openat2_available() == 1 else { return try walk(path) }
        let direct = outpost_open_no_symlinks(path, outpost_o_path | O_DIRECTORY)
        if direct >= 0 { return OwnedDescriptor(direct) }
        let error = errno
        // ELOOP: a symlink on the way, which the walk judges. ENOSYS, EPERM: no openat2 here (an old kernel, a
        // seccomp filter), so the walk does the whole job. Anything else (ENOENT, ENOTDIR, EACCES) is the answer.
        guard error == ELOOP || error == ENOSYS || error == EPERM else {
            throw Refusal(message: String(cString: strerror(error)), errno: error)
        }
        return try walk(path)
    }

    /// The component-by-component walk.
    static func walk(_ path: String) throws(Refusal) -> OwnedDescriptor {
        // The directories opened so far, from `/` down; `..` pops one (never above `/`).
        var stack: [Int32] = []
        defer { for fd in stack { close(fd) } }
        let top = Glibc.open("/", outpost_o_path | O_DIRECTORY | O_CLOEXEC)
        guard top >= 0 else { throw Refusal(message: String(cString: strerror(errno)), errno: errno) }
        stack.append(top)
        var remaining = Array(path.split(separator: "/").map(String.init).reversed())
        var symlinks = 0
        var walked = ""
        while let component = remaining.popLast() {
            if component == "." { continue }
            if component == ".." {
                if stack.count > 1 { close(stack.removeLast()) }
                walked = String(walked[..<(walked.lastIndex(of: "/") ?? walked.startIndex)])
                continue
            }
            let parent = stack[stack.count - 1]
            let fd = openat(parent, component, outpost_o_path | O_NOFOLLOW | O_CLOEXEC)
            guard fd >= 0 else { throw Refusal(message: String(cString: strerror(errno)), errno: errno) }
            var status = stat()
            guard fstat(fd, &status) == 0 else {
                let error = errno
                close(fd)
                throw Refusal(message: String(cString: strerror(error)), errno: error)
            }
            let here = walked + "/" + component
            switch status.st_mode & S_IFMT {
            case S_IFDIR:
                stack.append(fd)
                walked = here
            case S_IFLNK:
                defer { close(fd) }
                guard try isTrusted(link: status, in: parent) else {
                    throw Refusal(
                        message: "it goes through a symlink that a user could change (\(here)); "
                            + "the sandbox mapping must name the real directory",
                        errno: ELOOP
                    )
                }
                symlinks += 1
                guard symlinks <= maximumSymlinks else { throw Refusal(message: "too many symlinks", errno: ELOOP) }
                let target = try readLink(fd)
                if target.hasPrefix("/") {
                    while stack.count > 1 { close(stack.removeLast()) }
                    walked = ""
                }
                remaining += target.split(separator: "/").map(String.init).reversed()
            default:
                close(fd)
                throw Refusal(message: "\(here) is not a directory", errno: ENOTDIR)
            }
        }
        let result = stack.removeLast()
        return OwnedDescriptor(result)
    }

    /// A symlink no user could have made or replaced: root's, in root's directory that only root may write.
    private static func isTrusted(link: stat, in parent: Int32) throws(Refusal) -> Bool {
        var directory = stat()
        guard fstat(parent, &directory) == 0 else {
            throw Refusal(message: String(cString: strerror(errno)), errno: errno)
        }
        return link.st_uid == 0 && directory.st_uid == 0 && directory.st_mode & 0o022 == 0
    }

    private static func readLink(_ fd: Int32) throws(Refusal) -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        // An O_PATH descriptor of the link itself, with an empty name: the link's own target.
        let length = readlinkat(fd, "", &buffer, buffer.count - 1)
        guard length >= 0 else { throw Refusal(message: String(cString: strerror(errno)), errno: errno) }
        return String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
