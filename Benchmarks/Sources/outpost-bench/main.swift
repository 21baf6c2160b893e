import Foundation
import OutpostClient
import OutpostRPC

/// `outpost-bench echo SOCKET CONNECTIONS SECONDS`: echo round trips per second over the control socket, each
/// connection on its own thread making one call at a time (what a script or remote app polling the node does).
func echoThroughput(socket: String, connections: Int, seconds: Double) throws -> Double {
    let counts = UnsafeMutableBufferPointer<Int>.allocate(capacity: connections)
    counts.initialize(repeating: 0)
    defer { counts.deallocate() }
    let clients = try (0..<connections).map { _ in try ControlClient(socketPath: socket, timeoutSeconds: 30) }
    let group = DispatchGroup()
    let start = Date()
    let deadline = start.addingTimeInterval(seconds)
    nonisolated(unsafe) let unsafeCounts = counts
    nonisolated(unsafe) let unsafeClients = clients
    for index in 0..<connections {
        group.enter()
        let thread = Thread {
            let client = unsafeClients[index]
            var done = 0
            while Date() < deadline {
                for _ in 0..<64 {
                    guard (try? client.call("echo", ["text": "benchmark"])) == "benchmark" else {
                        fatalError("echo failed on connection \(index)")
                    }
                    done += 1
                }
            }
            unsafeCounts[index] = done
            group.leave()
        }
        thread.start()
    }
    group.wait()
    let elapsed = Date().timeIntervalSince(start)
    return Double(counts.reduce(0, +)) / elapsed
}

let arguments = CommandLine.arguments
guard arguments.count == 5, arguments[1] == "echo", let connections = Int(arguments[3]),
    let seconds = Double(arguments[4])
else {
    FileHandle.standardError.write("usage: outpost-bench echo SOCKET CONNECTIONS SECONDS\n".data(using: .utf8)!)
    exit(64)
}
do {
    let rate = try echoThroughput(socket: arguments[2], connections: connections, seconds: seconds)
    print(String(format: "%.0f", rate))
} catch {
    FileHandle.standardError.write("outpost-bench: \(error)\n".data(using: .utf8)!)
    exit(1)
}
