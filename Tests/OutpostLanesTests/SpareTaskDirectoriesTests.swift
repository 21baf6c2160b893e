import CLinuxShims
import OutpostLanes
import OutpostRPC
import OutpostState
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Pruned task directories are emptied and reset before another task gets them, and anything a task did to its
/// directory that cannot be undone safely means the directory is not reused at all.
@Suite("spare task directories")
struct SpareTaskDirectoriesTests {
    /// A state directory with `tasks/` and, beside it, `outside/` holding a file no removal may touch.
    final class Layout {
        let root: String
        var tasks: String { root + "/tasks" }
        var outside: String { root + "/outside" }

        init() throws {
            var template = Array("/tmp/outpost-spares-XXXXXX".utf8CString)
            guard let created = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
                throw TestFailure("mkdtemp failed")
            }
            root = String(cString: created)
            mkdir(tasks, 0o700)
            mkdir(outside, 0o700)
            try write(outside + "/keep", "precious")
        }

        deinit { removeTree(root) }

        /// `tasks/<id>/slot/`, as a task leaves it.
        func makeTask(_ id: Int64) {
            mkdir("\(tasks)/\(id)", 0o777)
            mkdir("\(tasks)/\(id)/slot", 0o777)
        }

        func write(_ path: String, _ text: String) throws {
            let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
            guard fd >= 0 else { throw TestFailure("cannot create \(path)") }
            _ = text.withCString { Glibc.write(fd, $0, strlen($0)) }
            close(fd)
        }

        func exists(_ path: String) -> Bool {
            var status = stat()
            return lstat(path, &status) == 0
        }

        func entries(_ path: String) -> [String] {
            guard let directory = opendir(path) else { return ["(cannot open)"] }
            defer { closedir(directory) }
            var names: [String] = []
            while let entry = readdir(directory) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) {
                    String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
                }
                if name != "." && name != ".." { names.append(name) }
            }
            return names.sorted()
        }

        func mode(_ path: String) -> mode_t {
            var status = stat()
            lstat(path, &status)
            return status.st_mode & 0o7777
        }
    }

    /// The mode `mkdir(path, 0777)` gives in this process.
    static func freshMode(in layout: Layout) -> mode_t {
        let probe = layout.root + "/probe"
        mkdir(probe, 0o777)
        defer { rmdir(probe) }
        return layout.mode(probe)
    }

    @Test func aKeptDirectoryComesBackEmptyWithTheModeAndAttributesOfANewOne() throws {
        let layout = try Layout()
        let spares = SpareTaskDirectories(tasksDirectory: layout.tasks, capacity: 4)
        spares.clear()
        layout.makeTask(1)
        let task = "\(layout.tasks)/1"
        try layout.write(task + "/stdout", "out")
        try layout.write(task + "/stderr", "err")
        try layout.write(task + "/progress", "0.5")
        mkdir(task + "/slot/nested", 0o700)
        mkdir(task + "/slot/nested/deeper", 0o700)
        try layout.write(task + "/slot/nested/deeper/checkpoint", "state")
        try layout.write(task + "/slot/result.dat", "data")
        symlink(layout.outside, task + "/slot/escape")
        symlink(layout.outside + "/keep", task + "/slot/file-link")
        chmod(task + "/slot/nested", 0o500)  // not writable: removal must still get through
        chmod(task + "/slot", 0o777)
        chmod(task, 0o777)
        let slotFD = open(task + "/slot", O_RDONLY | O_DIRECTORY)
        let attribute = outpost_set_attribute(slotFD, "user.left-behind", "x", 1)
        close(slotFD)

        #expect(spares.keep(1))
        #expect(!layout.exists(task))
        #expect(spares.count == 1)
        #expect(spares.take(as: 2))
        let reused = "\(layout.tasks)/2"
        #expect(layout.entries(reused) == ["slot"])
        #expect(layout.entries(reused + "/slot") == [])
        let fresh = Self.freshMode(in: layout)
        #expect(layout.mode(reused) == fresh)
        #expect(layout.mode(reused + "/slot") == fresh)
        if attribute == 0 {  // the file system takes user attributes
            let fd = open(reused + "/slot", O_RDONLY | O_DIRECTORY)
            var buffer = [CChar](repeating: 0, count: 256)
            #expect(outpost_list_attributes(fd, &buffer, UInt(buffer.count)) == 0)
            close(fd)
        }
        #expect(layout.entries(layout.outside) == ["keep"])
        #expect(spares.count == 0)
    }

    @Test func aSlotOrTaskDirectoryReplacedByASymlinkIsNotKeptAndNothingOutsideIsTouched() throws {
        let layout = try Layout()
        let spares = SpareTaskDirectories(tasksDirectory: layout.tasks, capacity: 4)
        spares.clear()
        // The slot is a symlink to a directory outside.
        mkdir("\(layout.tasks)/1", 0o700)
        symlink(layout.outside, "\(layout.tasks)/1/slot")
        #expect(!spares.keep(1))
        #expect(layout.exists("\(layout.tasks)/1"))
        // The task directory itself is a symlink to a directory outside that has a `slot/`.
        mkdir(layout.outside + "/slot", 0o700)
        try layout.write(layout.outside + "/slot/data", "precious too")
        symlink(layout.outside, "\(layout.tasks)/3")
        #expect(!spares.keep(3))
        // The slot is a plain file.
        mkdir("\(layout.tasks)/4", 0o700)
        try layout.write("\(layout.tasks)/4/slot", "not a directory")
        #expect(!spares.keep(4))

        #expect(layout.entries(layout.outside) == ["keep", "slot"])
        #expect(layout.entries(layout.outside + "/slot") == ["data"])
        #expect(spares.count == 0)
    }

    @Test func thePoolHoldsAtMostItsCapacityAndTakingNeverReplacesADirectory() throws {
        let layout = try Layout()
        let spares = SpareTaskDirectories(tasksDirectory: layout.tasks, capacity: 2)
        spares.clear()
        for id: Int64 in 1...3 { layout.makeTask(id) }
        #expect(spares.keep(1))
        #expect(spares.keep(2))
        #expect(!spares.keep(3))  // full: left for the caller to remove
        #expect(layout.exists("\(layout.tasks)/3"))
        // A task directory that exists already (a restart) is never replaced, and the spare stays.
        try layout.write("\(layout.tasks)/3/slot/checkpoint", "mine")
        #expect(!spares.take(as: 3))
        #expect(layout.entries("\(layout.tasks)/3/slot") == ["checkpoint"])
        #expect(spares.count == 2)
        #expect(spares.take(as: 10) && spares.take(as: 11))
        #expect(!spares.take(as: 12))
        #expect(!layout.exists("\(layout.tasks)/12"))
    }

    @Test func clearRemovesWhatAnEarlierDaemonLeftAmongTheSpares() throws {
        let layout = try Layout()
        let first = SpareTaskDirectories(tasksDirectory: layout.tasks, capacity: 4)
        first.clear()
        layout.makeTask(1)
        #expect(first.keep(1))
        // A later daemon starts: it knows nothing of those spares and removes them.
        let second = SpareTaskDirectories(tasksDirectory: layout.tasks, capacity: 4)
        second.clear()
        #expect(layout.entries(layout.tasks) == [".spare"])
        #expect(layout.entries(layout.tasks + "/.spare") == [])
        #expect(!second.take(as: 5))
    }

    /// Through the lanes: every task finds an empty slot of a new directory's mode, although the task before it (in
    /// a directory pruned and reused) left files and opened its slot to everyone.
    @Test func lanesReuseEmptiedDirectoriesAndEveryTaskStartsInAnEmptySlot() async throws {
        let harness = try LaneHarness(configure: { $0.finishedKept = 0 })
        defer { harness.remove() }
        harness.start()
        // Records are pruned as tasks finish (finished_kept = 0), so each task writes its verdict outside the tasks
        // tree: its slot's inode, or what was wrong.
        let verdicts = harness.directory + "/verdicts"
        let script = """
            if [ -n "$(ls -A)" ]; then echo "not empty: $(ls -A | tr '\\n' ' ')"
            elif [ "$(stat -c %a .)" = 777 ]; then echo "mode left at 777"
            else stat -c %i .; fi >> \(verdicts)
            mkdir -p left/behind && echo data > left/behind/file && chmod 777 .
            """
        let count = 100
        for _ in 0..<count { _ = try await harness.submit(script) }
        try await harness.waitUntil("every task's verdict", timeout: .seconds(60)) {
            harness.read(verdicts).split(separator: "\n").count >= count
        }
        // 100 is not a multiple of the prune batch (32): the last few are pruned by the next tick, so the state tree
        // ends with no finished task, as finished_kept = 0 says.
        try await harness.waitUntil("the last finished tasks pruned", timeout: .seconds(5)) {
            harness.publisher.state["tasks"]?.objectValue?.isEmpty == true
        }
        try await harness.stop()
        let seen = harness.read(verdicts).split(separator: "\n")
        #expect(seen.count == count)
        #expect(seen.allSatisfy { $0.allSatisfy(\.isNumber) }, "\(seen.filter { !$0.allSatisfy(\.isNumber) })")
        // The same slot directory (inode) served more than one task: pruned directories were reused.
        #expect(Set(seen).count < seen.count)
    }
}
