import OutpostCore
import OutpostFiles

/// Who reaches which directories: the sandbox mappings in force (`SandboxMappingStore`).
///
/// A superuser connection is unrestricted. Any other caller gets their own mapping, else the system mapping (the blank
/// user name), else nothing at all: with no mapping configured a non-superuser reaches no file.
public struct SandboxPolicy: Sendable {
    private let store: SandboxMappingStore

    init(store: SandboxMappingStore) {
        self.store = store
    }

    func roots(for session: ControlSession) -> SandboxRoots {
        if session.isSuperuser { return .unrestricted }
        let configured = store.current
        let mapping = configured[session.caller.userName] ?? configured[""] ?? .some([:])
        guard let roots = mapping else { return .unrestricted }
        return SandboxRoots(mapping: roots, userName: session.caller.userName)
    }
}
