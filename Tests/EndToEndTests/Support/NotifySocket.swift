#if canImport(Glibc)
import Glibc
#endif

/// A stand-in for systemd's notification socket: a Unix datagram socket the test binds, whose path goes into the
/// daemon's `NOTIFY_SOCKET`, and whose datagrams are the `READY=1`, `WATCHDOG=1`, … messages.
final class NotifySocket: @unchecked Sendable {
    let path: String
    private let fd: Int32
    private(set) var received: [String] = []

    init(path: String) throws {
        self.path = path
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket failed") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let result = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard result == 0 else { throw TestFailure("bind \(path) failed") }
    }

    deinit {
        close(fd)
        unlink(path)
    }

    /// Receives datagrams until one contains `assignment` (e.g. "READY=1") or the timeout passes.
    /// - Returns: the matching datagram.
    @discardableResult
    func waitFor(_ assignment: String, timeout: Duration = .seconds(10)) throws -> String {
        if let index = received.firstIndex(where: { $0.split(separator: "\n").contains(Substring(assignment)) }) {
            let message = received[index]
            received.removeSubrange(...index)
            return message
        }
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            guard let message = receive(waitingMilliseconds: 50) else { continue }
            if message.split(separator: "\n").contains(Substring(assignment)) { return message }
            received.append(message)
        }
        throw TestFailure("no \(assignment) on the notify socket within \(timeout); got \(received)")
    }

    /// Counts datagrams containing `assignment` that arrive within `duration`.
    func count(_ assignment: String, during duration: Duration) -> Int {
        let deadline = ContinuousClock.now + duration
        var count = 0
        while ContinuousClock.now < deadline {
            guard let message = receive(waitingMilliseconds: 20) else { continue }
            if message.split(separator: "\n").contains(Substring(assignment)) { count += 1 }
        }
        return count
    }

    /// One datagram, or nil if none arrives within the wait.
    private func receive(waitingMilliseconds: Int32) -> String? {
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, waitingMilliseconds) > 0 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let length = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard length > 0 else { return nil }
        return String(decoding: buffer[..<length], as: UTF8.self)
    }
}
