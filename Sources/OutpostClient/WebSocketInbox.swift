import Dispatch
import Synchronization

/// What the event loop hands to the waiting caller: whole messages in order, then how the connection ended.
final class WebSocketInbox: Sendable {
    private struct State {
        var isOpen = false
        var messages: [[UInt8]] = []
        var failure: ControlClientError?
    }

    private let state = Mutex(State())
    private let signal = DispatchSemaphore(value: 0)
    let remote: RemoteEndpoint
    var endpoint: String { remote.description }

    init(remote: RemoteEndpoint) {
        self.remote = remote
    }

    /// An error from the pipeline, in the words of `ControlClient`'s errors.
    func describe(_ error: any Error) -> ControlClientError {
        remote.connectionFailure(error) ?? ControlClientError(code: .io, message: "\(endpoint): \(error)")
    }

    var failure: ControlClientError? { state.withLock { $0.failure } }

    func open() {
        state.withLock { $0.isOpen = true }
        signal.signal()
    }

    func deliver(_ message: [UInt8]) {
        state.withLock { $0.messages.append(message) }
        signal.signal()
    }

    /// The first reason given wins: a TLS error says more than the close that follows it.
    func end(_ failure: ControlClientError) {
        state.withLock { state in
            if state.failure == nil { state.failure = failure }
        }
        signal.signal()
    }

    func waitUntilOpen(timeoutSeconds: Double?) throws(ControlClientError) {
        try wait(timeoutSeconds: timeoutSeconds, what: "the WebSocket upgrade") { state throws(ControlClientError) in
            if state.isOpen { return () }
            if let failure = state.failure { throw failure }
            return nil
        }
    }

    func next(timeoutSeconds: Double?) throws(ControlClientError) -> [UInt8] {
        try wait(timeoutSeconds: timeoutSeconds, what: "an answer") { state throws(ControlClientError) in
            if !state.messages.isEmpty { return state.messages.removeFirst() }
            if let failure = state.failure { throw failure }
            return nil
        }
    }

    private func wait<T>(
        timeoutSeconds: Double?,
        what: String,
        _ take: (inout State) throws(ControlClientError) -> T?
    ) throws(ControlClientError) -> T {
        let deadline = timeoutSeconds.map { DispatchTime.now() + $0 }
        while true {
            let taken = state.withLock { state -> Result<T?, ControlClientError> in
                do throws(ControlClientError) {
                    return .success(try take(&state))
                } catch {
                    return .failure(error)
                }
            }
            if let value = try taken.get() { return value }
            if let deadline {
                guard signal.wait(timeout: deadline) == .success else {
                    throw ControlClientError(code: .timedOut, message: "\(endpoint) did not send \(what) in time")
                }
            } else {
                signal.wait()
            }
        }
    }
}
