import Testing

@testable import OutpostNode
@testable import OutpostService

#if canImport(Glibc)
import Glibc
#endif

@Suite("journald fields, node identity")
struct SupportTests {
    @Test(arguments: [
        ("request_id", "REQUEST_ID"), ("sl-signal", "SL_SIGNAL"), ("_private", "F__PRIVATE"), ("9lives", "F_9LIVES"),
        ("lane.ünï", "LANE__N_"),
    ])
    func journalFieldNames(key: String, field: String) {
        #expect(JournaldLogHandler.fieldName(key) == field)
    }

    @Test func identityIsMadeOnceAndKept() throws {
        var template = Array("/tmp/outpost-unit-XXXXXX".utf8CString)
        let directory = String(cString: template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!)! })
        let state = directory + "/nested/state"
        let first = try NodeIdentity.loadOrCreate(stateDirectory: state)
        let second = try NodeIdentity.loadOrCreate(stateDirectory: state)
        #expect(first == second)
        #expect(first.nodeID.count == 36)
        #expect(StateDirectory.permissions(of: state) == 0o750)
        try StateDirectory.writeAtomically(state + "/node-id", contents: "not a uuid\n", mode: 0o644)
        #expect(throws: StateDirectoryError.self) { try NodeIdentity.loadOrCreate(stateDirectory: state) }
    }
}

func makeTemporaryDirectory() -> String {
    var template = Array("/tmp/outpost-unit-XXXXXX".utf8CString)
    return String(cString: template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!)! })
}
