import Foundation
import OutpostClient
import OutpostCrypto
import OutpostRPC
import OutpostScheduler

/// Calls per second of `body` over `connections` threads at once (`body(index)` on thread `index`), counted over
/// `seconds` after a warm-up of `WARMUP_SECONDS` (default 2) that is not counted: both sides of a comparison get
/// the same warm-up, so neither is measured while its heap and caches are still growing. Each thread makes one
/// call at a time, as a script or remote app polling a node does.
func throughput(connections: Int, seconds: Double, _ body: @escaping @Sendable (Int) throws -> Void) -> Double {
    let warmup = Double(ProcessInfo.processInfo.environment["WARMUP_SECONDS"] ?? "") ?? 2
    let counts = UnsafeMutableBufferPointer<Int>.allocate(capacity: connections)
    counts.initialize(repeating: 0)
    defer { counts.deallocate() }
    nonisolated(unsafe) let unsafeCounts = counts
    let group = DispatchGroup()
    let measureFrom = Date().addingTimeInterval(warmup)
    let deadline = measureFrom.addingTimeInterval(seconds)
    for index in 0..<connections {
        group.enter()
        let thread = Thread {
            var done = 0
            while true {
                do { try body(index) } catch { fatalError("call failed on connection \(index): \(error)") }
                let now = Date()
                if now >= deadline { break }
                if now >= measureFrom { done += 1 }
            }
            unsafeCounts[index] = done
            group.leave()
        }
        thread.start()
    }
    group.wait()
    return Double(counts.reduce(0, +)) / seconds
}

/// Control-socket clients, one per connection, already superuser (the benchmarks run as root on paths in /tmp).
func superuserClients(_ socket: String, _ count: Int) throws -> [ControlClient] {
    try (0..<count).map { _ in
        let client = try ControlClient(socketPath: socket, timeoutSeconds: 600)
        _ = try client.call("superuser")
        return client
    }
}

/// Submits `method` on `path` and waits for its result: what a caller sees, end to end.
func submitAndWait(_ client: ControlClient, _ method: String, _ path: String) throws -> JSONValue {
    let submitted = try client.call(method, ["path": .string(path)])
    guard let id = submitted["requestId"] else { throw BenchError("no requestId in \(submitted)") }
    return try client.call("getRequestResult", ["requestId": id])
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A keep-alive HTTP/1.1 client over one TCP connection to 127.0.0.1, for rclone's remote-control API: POSTs a JSON
/// body and reads the whole response (Content-Length or chunked).
final class LoopbackHTTPConnection {
    private let fd: Int32
    private var buffer: [UInt8] = []
    /// Where each recv lands, made once (as in outpostctl's own transport).
    private var chunk = [UInt8](repeating: 0, count: 65536)

    init(port: UInt16) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { throw BenchError("connect to 127.0.0.1:\(port) failed") }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    deinit { close(fd) }

    /// Returns the response body.
    func post(_ path: String, json: String) throws -> [UInt8] {
        let body = Array(json.utf8)
        let request =
            Array(
                ("POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                    + "Content-Length: \(body.count)\r\n\r\n").utf8
            ) + body
        guard request.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, 0) }) == request.count else {
            throw BenchError("send failed")
        }
        let head = try readUntil([13, 10, 13, 10])
        let headers = String(decoding: head, as: UTF8.self).lowercased()
        guard headers.hasPrefix("http/1.1 200") else { throw BenchError("HTTP error: \(headers.prefix(80))") }
        if let range = headers.range(of: "content-length: ") {
            let length = Int(headers[range.upperBound...].prefix { $0.isNumber })!
            return try readExactly(length)
        }
        var result: [UInt8] = []
        while true {  // chunked
            let sizeLine = String(decoding: try readUntil([13, 10]).dropLast(2), as: UTF8.self)
            let size = Int(sizeLine.split(separator: ";")[0], radix: 16)!
            if size == 0 {
                _ = try readUntil([13, 10])
                return result
            }
            result += try readExactly(size)
            _ = try readExactly(2)
        }
    }

    private func fill() throws {
        let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { throw BenchError("connection closed") }
        buffer += chunk[..<count]
    }

    private func readUntil(_ marker: [UInt8]) throws -> [UInt8] {
        var searchFrom = 0
        while true {
            if buffer.count >= marker.count {
                for start in searchFrom...(buffer.count - marker.count)
                where buffer[start..<start + marker.count].elementsEqual(marker) {
                    let line = Array(buffer[..<(start + marker.count)])
                    buffer.removeFirst(start + marker.count)
                    return line
                }
                searchFrom = buffer.count - marker.count + 1
            }
            try fill()
        }
    }

    private func readExactly(_ count: Int) throws -> [UInt8] {
        while buffer.count < count { try fill() }
        let bytes = Array(buffer[..<count])
        buffer.removeFirst(count)
        return bytes
    }
}

func usage() -> Never {
    FileHandle.standardError.write(
        """
        usage: outpost-bench echo SOCKET CONNECTIONS SECONDS
               outpost-bench request SOCKET METHOD PATH          (milliseconds from submit to result)
               outpost-bench list-rps SOCKET PATH CONNECTIONS SECONDS       (as superuser)
               outpost-bench user-list-rps SOCKET PATH CONNECTIONS SECONDS  (as the caller, in their sandbox)
               outpost-bench rclone-list-rps PORT DIRECTORY CONNECTIONS SECONDS
               outpost-bench remote-list-rps PORT CA_FILE USER PASSWORD PATH CONNECTIONS SECONDS
               outpost-bench parse-replies FILE SECONDS               (scheduler replies parsed per second)
               outpost-bench boinc-jobs SCHEDULER_URL AUTHENTICATOR PROCESSORS   (one RPC; a line per result)
               outpost-bench download URL NAME NBYTES MD5 DIRECTORY [KBITS]  (seconds, as outpostd downloads)
               outpost-bench upload URL NAME MAX_NBYTES FILE [KBITS]         (seconds, as outpostd uploads)
               outpost-bench upload-header NAME MAX_NBYTES FILE              (the BOINC upload header, for curl)

        """.data(using: .utf8)!
    )
    exit(64)
}

extension Optional where Wrapped == String {
    var isNilOrEmpty: Bool { self?.isEmpty ?? true }
}

let arguments = Array(CommandLine.arguments.dropFirst())
do {
    switch (arguments.first, arguments.count) {
    case ("echo", 4):
        guard let connections = Int(arguments[2]), let seconds = Double(arguments[3]) else { usage() }
        nonisolated(unsafe) let clients = try (0..<connections).map { _ in
            try ControlClient(socketPath: arguments[1], timeoutSeconds: 30)
        }
        let rate = throughput(connections: connections, seconds: seconds) { index in
            guard try clients[index].call("echo", ["text": "benchmark"]) == "benchmark" else {
                throw BenchError("echo")
            }
        }
        print(String(format: "%.0f", rate))
    case ("request", 4):
        let client = try superuserClients(arguments[1], 1)[0]
        let start = Date()
        _ = try submitAndWait(client, arguments[2], arguments[3])
        print(String(format: "%.1f", Date().timeIntervalSince(start) * 1000))
    case ("list-rps", 5), ("user-list-rps", 5):
        guard let connections = Int(arguments[3]), let seconds = Double(arguments[4]) else { usage() }
        // user-list-rps: as the calling user in their own sandbox (the daemon takes on their file identity for each
        // request); list-rps: as superuser, acting as the daemon itself.
        nonisolated(unsafe) let clients =
            arguments[0] == "list-rps"
            ? try superuserClients(arguments[1], connections)
            : try (0..<connections).map { _ in try ControlClient(socketPath: arguments[1], timeoutSeconds: 600) }
        let path = arguments[2]
        let rate = throughput(connections: connections, seconds: seconds) { index in
            let result = try submitAndWait(clients[index], "lsAsync", path)
            guard result["files"]?.arrayValue?.isEmpty == false else { throw BenchError("empty listing") }
        }
        print(String(format: "%.0f", rate))
    case ("remote-list-rps", 8):
        guard let port = Int(arguments[1]), let connections = Int(arguments[6]), let seconds = Double(arguments[7])
        else { usage() }
        let (ca, user, password, path) = (arguments[2], arguments[3], arguments[4], arguments[5])
        let semaphore = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var outcome: Result<Double, any Error> = .success(0)
        Task.detached {
            do {
                outcome = .success(
                    try await remoteListRate(
                        port: port,
                        caFile: ca,
                        user: user,
                        password: password,
                        path: path,
                        connections: connections,
                        seconds: seconds
                    )
                )
            } catch {
                outcome = .failure(error)
            }
            semaphore.signal()
        }
        semaphore.wait()
        print(String(format: "%.0f", try outcome.get()))
    case ("rclone-list-rps", 5):
        guard let port = UInt16(arguments[1]), let connections = Int(arguments[3]), let seconds = Double(arguments[4])
        else { usage() }
        nonisolated(unsafe) let connectionsList = try (0..<connections).map { _ in
            try LoopbackHTTPConnection(port: port)
        }
        let body = #"{"fs": "/", "remote": "\#(arguments[2].dropFirst())"}"#
        let rate = throughput(connections: connections, seconds: seconds) { index in
            // Parsed as the control client parses outpostd's replies, so both sides do a real client's work.
            let reply = try JSONCoding.parse(try connectionsList[index].post("/operations/list", json: body))
            guard reply["list"]?.arrayValue?.isEmpty == false else { throw BenchError("empty rclone listing") }
        }
        print(String(format: "%.0f", rate))
    case ("parse-replies", 3):
        // Scheduler replies parsed per second, on one core, from a file (the largest captured reply).
        guard let seconds = Double(arguments[2]) else { usage() }
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: arguments[1])))
        let start = Date()
        var parsed = 0
        while Date().timeIntervalSince(start) < seconds {
            for _ in 0..<100 {
                let reply = try SchedulerReply(bytes: bytes)
                guard !reply.projectName.isNilOrEmpty else { throw BenchError("no project name") }
                parsed += 1
            }
        }
        print(String(format: "%.0f", Double(parsed) / Date().timeIntervalSince(start)))
    case ("boinc-jobs", 4):
        guard let processors = Int(arguments[3]) else { usage() }
        try await TransferBench.jobs(schedulerURL: arguments[1], authenticator: arguments[2], processors: processors)
    case ("download", 6), ("download", 7):
        guard let nbytes = Double(arguments[3]) else { usage() }
        try await TransferBench.download(
            url: arguments[1],
            name: arguments[2],
            nbytes: nbytes,
            md5: arguments[4],
            directory: arguments[5],
            rate: arguments.count == 7 ? Double(arguments[6]) : nil
        )
    case ("upload", 5), ("upload", 6):
        guard let maxNbytes = Double(arguments[3]) else { usage() }
        try await TransferBench.upload(
            url: arguments[1],
            name: arguments[2],
            maxNbytes: maxNbytes,
            path: arguments[4],
            rate: arguments.count == 6 ? Double(arguments[5]) : nil
        )
    case ("upload-header", 4):
        guard let maxNbytes = Double(arguments[2]), let (md5, size) = FileDigest.md5(path: arguments[3]) else {
            usage()
        }
        print(
            DataServerMessage.uploadHeader(name: arguments[1], maxNbytes: maxNbytes, nbytes: size, md5: md5, offset: 0),
            terminator: ""
        )
    default:
        usage()
    }
} catch {
    FileHandle.standardError.write("outpost-bench: \(error)\n".data(using: .utf8)!)
    exit(1)
}
