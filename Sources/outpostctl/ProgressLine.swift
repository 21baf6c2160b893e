import OutpostClient
import OutpostCore
import OutpostRPC

#if canImport(Glibc)
import Glibc
#endif

/// The line a terminal user sees while a long `du` or `rm` runs: entries done so far and the time taken, redrawn in
/// place five times a second from `getRequestStatus`, and erased when the request ends. Quick requests (under half a
/// second) never show it.
enum ProgressLine {
    static func wait(for id: JSONValue, method: String, client: ControlClient) throws {
        let verb = method.hasSuffix("Async") ? String(method.dropLast(5)) : method
        let start = MonotonicClock.seconds()
        var shown = false
        defer { if shown { draw("\r\u{1B}[K") } }
        while true {
            let status = try client.call("getRequestStatus", ["requestId": id])
            guard status["status"]?.stringValue == "pending" else { return }
            let elapsed = MonotonicClock.seconds() - start
            if elapsed >= 0.5 {
                let entries = status["entriesDone"]?.integerValue ?? 0
                let tenths = Int(elapsed * 10)
                draw(
                    "\r\u{1B}[K\(verb) request \(id.integerValue ?? 0): \(entries) entries, \(tenths / 10).\(tenths % 10) s"
                )
                shown = true
            }
            usleep(200_000)
        }
    }

    private static func draw(_ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { write(STDOUT_FILENO, $0.baseAddress, $0.count) }
    }
}
