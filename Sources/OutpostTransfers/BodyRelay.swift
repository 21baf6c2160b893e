import AsyncHTTPClient
import NIOCore
import Synchronization

/// Reads a response body ahead of the code that consumes it, up to `highWatermark` buffers (16 of at most 64 KiB: a megabyte, no more, ahead of the bandwidth limiter), so that the network keeps
/// arriving while each buffer is hashed and written.
///
/// Why: AsyncHTTPClient's body sequence holds one buffer (its watermarks are 1 and 1), so every read of the socket
/// waited for the previous 64 KiB to be hashed and written, and a verified download ran at the speed of receive plus
/// MD5 plus write in turn. Here a relay task moves the buffers into NIO's own back-pressured sequence, and the body
/// is read as fast as the consumer can keep up with on average.
enum BodyRelay {
    /// Runs `consume` over `body`'s buffers in order; the body is read up to `highWatermark` buffers ahead.
    static func forEach(
        _ body: HTTPClientResponse.Body,
        lowWatermark: Int = 4,
        highWatermark: Int = 16,
        _ consume: (ByteBuffer) async throws -> Void
    ) async throws {
        let gate = Gate()
        let new = NIOThrowingAsyncSequenceProducer.makeSequence(
            elementType: ByteBuffer.self,
            backPressureStrategy: NIOAsyncSequenceProducerBackPressureStrategies.HighLowWatermark(
                lowWatermark: lowWatermark,
                highWatermark: highWatermark
            ),
            finishOnDeinit: true,
            delegate: gate
        )
        let source = new.source
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                do {
                    for try await buffer in body {
                        switch source.yield(buffer) {
                        case .produceMore: continue
                        case .stopProducing: await gate.waitUntilWanted()
                        case .dropped: return  // the consumer has gone: it reports why
                        }
                    }
                    source.finish()
                } catch {
                    source.finish(error)
                }
            }
            do {
                for try await buffer in new.sequence { try await consume(buffer) }
            } catch {
                group.cancelAll()
                throw error
            }
            try await group.waitForAll()
        }
    }

    /// Tells the relay when the consumer wants more (or is gone for good).
    private final class Gate: NIOAsyncSequenceProducerDelegate {
        private struct State {
            var wanted = false
            var terminated = false
            var waiter: CheckedContinuation<Void, Never>?
        }

        private let state = Mutex(State())

        func produceMore() {
            open(terminating: false)
        }

        func didTerminate() {
            open(terminating: true)
        }

        private func open(terminating: Bool) {
            let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
                if terminating { state.terminated = true }
                guard let waiter = state.waiter else {
                    state.wanted = true
                    return nil
                }
                state.waiter = nil
                return waiter
            }
            waiter?.resume()
        }

        /// Returns once `produceMore` (or the end) has come; at once if it came already.
        func waitUntilWanted() async {
            await withCheckedContinuation { continuation in
                let ready = state.withLock { state -> Bool in
                    if state.terminated || state.wanted {
                        state.wanted = false
                        return true
                    }
                    state.waiter = continuation
                    return false
                }
                if ready { continuation.resume() }
            }
        }
    }
}
