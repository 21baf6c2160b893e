import Logging

#if canImport(Glibc)
import Glibc
#endif

/// Finds the sandbox roots in force that the service cannot use, so that an admin reads why in the log at start and on
/// reload instead of learning it from a user's failed request. Under the shipped unit (`ProtectSystem=strict`) every
/// path outside `ReadWritePaths=` is read-only for the service, whatever its permission bits say.
///
/// A root that names its user (`/home/%u`) is checked up to the part before `%u`: the users themselves are not known
/// until they connect, and each one's directory is theirs to make.
struct SandboxRootAudit {
    struct Finding: Equatable, CustomStringConvertible {
        /// The mapping's user name; "" for the system sandbox.
        var userName: String
        var rootName: String
        /// The path checked: the root, or its fixed part before `%u`.
        var path: String
        var problem: Problem

        enum Problem: Equatable {
            case missing
            case notADirectory
            case readOnly
            case unreachable(Int32)
        }

        var description: String {
            let whose = userName.isEmpty ? "the system sandbox" : "user \(userName)"
            let root = "sandbox root '\(rootName)' of \(whose) (\(path))"
            switch problem {
            case .missing:
                return "\(root) does not exist: create it, or change the mapping with 'outpostctl sandbox set'"
            case .notADirectory:
                return "\(root) is not a directory: change the mapping with 'outpostctl sandbox set'"
            case .readOnly:
                return "\(root) is read-only for the service, so its users can only read there (ProtectSystem=strict "
                    + "makes every path outside ReadWritePaths= read-only); to let them write, add it with "
                    + "'systemctl edit outpostd' as [Service] ReadWritePaths=\(path), then 'systemctl restart outpostd'"
            case .unreachable(let error):
                return "\(root) cannot be reached by the service (\(String(cString: strerror(error)))): "
                    + "check the permissions of its parent directories, or the unit's InaccessiblePaths= "
                    + "and ProtectHome="
            }
        }
    }

    /// Every root of `mappings` that the service cannot use, in a stable order.
    static func findings(in mappings: SandboxMappingStore.Mappings) -> [Finding] {
        var findings: [Finding] = []
        for (userName, mapping) in mappings.sorted(by: { $0.key < $1.key }) {
            guard let mapping else { continue }
            for (rootName, root) in mapping.sorted(by: { $0.key < $1.key }) {
                let path = fixedPart(of: root)
                if let problem = problem(at: path) {
                    findings.append(Finding(userName: userName, rootName: rootName, path: path, problem: problem))
                }
            }
        }
        return findings
    }

    /// Logs each finding as a warning; nothing when all roots are usable.
    static func log(_ mappings: SandboxMappingStore.Mappings, to logger: Logger) {
        for finding in findings(in: mappings) {
            logger.warning(
                "\(finding)",
                metadata: ["sandbox_user": "\(finding.userName)", "sandbox_root": "\(finding.path)"]
            )
        }
    }

    /// `/home/%u/work` → `/home`: the deepest directory that is the same for every user.
    static func fixedPart(of root: String) -> String {
        guard let marker = root.firstRange(of: "%u") else { return root }
        var prefix = String(root[..<marker.lowerBound])
        if let slash = prefix.lastIndex(of: "/") { prefix = String(prefix[..<slash]) }
        return prefix.isEmpty ? "/" : prefix
    }

    private static func problem(at path: String) -> Finding.Problem? {
        var status = stat()
        guard stat(path, &status) == 0 else {
            return errno == ENOENT ? .missing : .unreachable(errno)
        }
        guard status.st_mode & S_IFMT == S_IFDIR else { return .notADirectory }
        var volume = statvfs()
        if statvfs(path, &volume) == 0, volume.f_flag & UInt(ST_RDONLY) != 0 { return .readOnly }
        return nil
    }
}
