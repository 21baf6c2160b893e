import OutpostCore
import OutpostFiles

/// Who reaches which directories: the sandbox mappings in force (`SandboxMappingStore`).
///
/// A superuser connection is unrestricted and acts as the daemon. Any other caller gets their own mapping, else the
/// system mapping (the blank user name), else nothing at all (with no mapping configured a non-superuser reaches no
/// file), and acts with their own file-system identity: the kernel decides each permission as for them.
public struct SandboxPolicy: Sendable {
    private let store: SandboxMappingStore

    init(store: SandboxMappingStore) {
        self.store = store
    }

    /// The resolver for a session's file operations: its roots, and the identity they act as.
    func resolver(for session: ControlSession) -> SandboxResolver {
        let roots = roots(for: session)
        guard !session.isSuperuser else { return SandboxResolver(roots: roots) }
        let caller = session.caller
        let groups = session.fileCaller.groups.sorted()
        return SandboxResolver(roots: roots, identity: FileIdentity(uid: caller.uid, gid: caller.gid, groups: groups))
    }

    func roots(for session: ControlSession) -> SandboxRoots {
        if session.isSuperuser { return .unrestricted }
        let configured = store.current
        let mapping = configured[session.caller.userName] ?? configured[""] ?? .some([:])
        guard let roots = mapping else { return .unrestricted }
        return SandboxRoots(mapping: roots, userName: session.caller.userName)
    }
}
