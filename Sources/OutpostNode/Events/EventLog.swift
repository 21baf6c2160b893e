import NIOCore
import OutpostCore
import OutpostRPC
import Synchronization

#if canImport(Glibc)
import Glibc
import OutpostService
#endif

/// The daemon's event log (`getEventLog`): what happened, when, and for whom, kept across restarts.
///
/// Each event is one JSON line appended to `events.jsonl` in the state directory. When that file holds `capacity`
/// lines it becomes `events.1.jsonl` (replacing the older one) and a new file starts, so the disk holds at most
/// `2 × capacity` events and memory at most `capacity`. A line torn by a crash is skipped when the log is read back.
/// Appends are single `write(2)` calls with `O_APPEND`: an event costs microseconds, and nothing is fsynced, because
/// the log describes work rather than being the work's record. On a full disk the events stay in memory and what
/// a short write left of their lines is cut off, so the file reads back whole once there is room again.
public final class EventLog: Sendable {
    /// One event: `_event` and `_timestamp` (µs since the epoch) as in accsyn's client API, plus its own fields. An event
    /// with a `uid` belongs to that user; the others (server start, sandbox and GC changes) are for superusers.
    public struct Event: Sendable, Equatable {
        public var name: String
        public var timestamp: Int64
        public var fields: [String: JSONValue]

        var ownerUID: UInt32? { fields["uid"]?.integerValue.flatMap { UInt32(exactly: $0) } }

        var json: JSONValue {
            var members = fields
            members["_event"] = .string(name)
            members["_timestamp"] = .integer(timestamp)
            return .object(members)
        }

        init(name: String, timestamp: Int64, fields: [String: JSONValue]) {
            self.name = name
            self.timestamp = timestamp
            self.fields = fields
        }

        init?(json: JSONValue) {
            guard var members = json.objectValue,
                let name = members.removeValue(forKey: "_event")?.stringValue,
                let timestamp = members.removeValue(forKey: "_timestamp")?.integerValue
            else { return nil }
            self.init(name: name, timestamp: timestamp, fields: members)
        }
    }

    private struct Storage {
        /// A ring: dropping the oldest event when full costs O(1), not a shift of `capacity` events.
        var events = CircularBuffer<Event>()
        var linesInFile = 0
        var descriptor: Int32 = -1
        var lastTimestamp: Int64 = 0
    }

    public let capacity: Int
    private let path: String
    private let previousPath: String
    private let storage: Mutex<Storage>

    /// Reads back what the log already holds and opens it for appending.
    public init(stateDirectory: String, capacity: Int = 10_000) throws(StateDirectoryError) {
        self.capacity = max(capacity, 1)
        path = stateDirectory + "/events.jsonl"
        previousPath = stateDirectory + "/events.1.jsonl"
        var storage = Storage()
        let older = try Self.readEvents(previousPath)
        let current = try Self.readEvents(path)
        storage.events = CircularBuffer((older + current).suffix(self.capacity))
        storage.linesInFile = current.count
        storage.lastTimestamp = storage.events.last?.timestamp ?? 0
        storage.descriptor = try Self.openForAppend(path)
        self.storage = Mutex(storage)
    }

    deinit {
        storage.withLock { if $0.descriptor >= 0 { close($0.descriptor) } }
    }

    /// Appends an event now. A failed write (a full disk) costs only the line on disk: the event stays in memory,
    /// and the caller's work goes on.
    @discardableResult
    public func record(_ name: String, owner: CallerIdentity? = nil, _ fields: [String: JSONValue] = [:]) -> Event {
        storage.withLock { storage in
            let event = add(name, owner: owner, fields, to: &storage)
            write(Self.line(of: event), events: 1, to: &storage)
            return event
        }
    }

    /// Appends events of one owner, in order, with one write: a request that finished as it was submitted logs
    /// both its ends at once.
    public func record(_ batch: [(name: String, fields: [String: JSONValue])], owner: CallerIdentity?) {
        guard !batch.isEmpty else { return }
        storage.withLock { storage in
            var lines: [UInt8] = []
            for (name, fields) in batch {
                lines += Self.line(of: add(name, owner: owner, fields, to: &storage))
            }
            write(lines, events: batch.count, to: &storage)
        }
    }

    /// Stamps an event and keeps it in memory.
    private func add(
        _ name: String,
        owner: CallerIdentity?,
        _ fields: [String: JSONValue],
        to storage: inout Storage
    ) -> Event {
        var fields = fields
        if let owner {
            fields["uid"] = .integer(Int64(owner.uid))
            fields["userName"] = .string(owner.userName)
        }
        // Timestamps are strictly increasing, so `after: lastSeen` never misses or repeats an event.
        let timestamp = max(Self.microsecondsNow(), storage.lastTimestamp + 1)
        storage.lastTimestamp = timestamp
        let event = Event(name: name, timestamp: timestamp, fields: fields)
        storage.events.append(event)
        if storage.events.count > capacity { storage.events.removeFirst(storage.events.count - capacity) }
        return event
    }

    /// `getEventLog`: oldest first. `before`/`after` are exclusive µs bounds; `limit` keeps the newest matches.
    public func query(
        name: String? = nil,
        before: Int64? = nil,
        after: Int64? = nil,
        limit: Int? = nil,
        caller: CallerIdentity,
        superuser: Bool
    ) -> [Event] {
        let matches = storage.withLock { storage in
            Array(
                storage.events.lazy.filter { event in
                    (superuser || event.ownerUID == caller.uid)
                        && (name == nil || event.name == name)
                        && (before == nil || event.timestamp < before!)
                        && (after == nil || event.timestamp > after!)
                }
            )
        }
        guard let limit else { return matches }
        return Array(matches.suffix(limit))
    }

    /// `lines` (holding `events` events) appended to the file with one `write(2)`, after starting a new file when
    /// they would not fit in this one.
    private func write(_ lines: [UInt8], events: Int, to storage: inout Storage) {
        if storage.linesInFile + events > capacity {
            close(storage.descriptor)
            rename(path, previousPath)
            storage.descriptor = (try? Self.openForAppend(path)) ?? -1
            storage.linesInFile = 0
        }
        guard storage.descriptor >= 0 else { return }
        let written = lines.withUnsafeBytes { Glibc.write(storage.descriptor, $0.baseAddress, $0.count) }
        if written == lines.count {
            storage.linesInFile += events
        } else if written > 0 {
            // A short write (the disk filled up) left part of a line: cut it off, or the next event would be glued
            // to it and lost with it when the log is read back.
            let end = lseek(storage.descriptor, 0, SEEK_END)
            if end >= written { ftruncate(storage.descriptor, end - off_t(written)) }
        }
    }

    /// The event's line: the same members as `json`, written straight to bytes, `_event` and `_timestamp` first
    /// and the fields after them in sorted order.
    private static func line(of event: Event) -> [UInt8] {
        var line: [UInt8] = []
        line.reserveCapacity(192)
        JSONCoding.append(syntax: #"{"_event":"#, to: &line)
        JSONCoding.append(string: event.name, to: &line)
        JSONCoding.append(syntax: #","_timestamp":"#, to: &line)
        JSONCoding.append(integer: event.timestamp, to: &line)
        for (key, value) in event.fields.sorted(by: { $0.key < $1.key }) where key != "_event" && key != "_timestamp" {
            line.append(UInt8(ascii: ","))
            JSONCoding.append(string: key, to: &line)
            line.append(UInt8(ascii: ":"))
            JSONCoding.append(value, to: &line)
        }
        JSONCoding.append(syntax: "}\n", to: &line)
        return line
    }

    private static func openForAppend(_ path: String) throws(StateDirectoryError) -> Int32 {
        let descriptor = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw StateDirectoryError(path: path, message: "cannot open: \(String(cString: strerror(errno)))")
        }
        return descriptor
    }

    /// The events in one log file; lines that do not parse (a torn last line after a crash) are skipped.
    private static func readEvents(_ path: String) throws(StateDirectoryError) -> [Event] {
        guard let text = try StateDirectory.readSmallFile(path, limit: 64 << 20) else { return [] }
        return text.utf8.split(separator: UInt8(ascii: "\n")).compactMap { line in
            (try? JSONCoding.parse(line)).flatMap(Event.init(json:))
        }
    }

    static func microsecondsNow() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Int64(time.tv_sec) * 1_000_000 + Int64(time.tv_nsec) / 1000
    }
}
