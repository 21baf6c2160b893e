import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import OutpostCheckin
import OutpostRPC
import Testing

/// The node's side of the wire against a coordinator that fails, lies or stalls: each outcome is sorted into
/// retry-later or stop-and-tell, never a hang or a crash.
@Suite("coordinator connection")
struct CoordinatorConnectionTests {
    static func application() -> some ApplicationProtocol {
        let router = Router()
        router.post("/overloaded") { _, _ in Response(status: .serviceUnavailable) }
        router.post("/lies") { _, _ in
            Response(status: .ok, body: ResponseBody(byteBuffer: ByteBuffer(string: "<html>")))
        }
        router.post("/refuses") { _, _ in
            Response(
                status: .unauthorized,
                body: ResponseBody(byteBuffer: ByteBuffer(string: #"{"error":"wrong secret"}"#))
            )
        }
        router.post("/stalls") { _, _ in
            Response(
                status: .ok,
                body: ResponseBody { writer in
                    try await writer.write(ByteBuffer(string: "{"))
                    // Well past the caller's 2 s deadline, short enough not to hold the test server's shutdown long.
                    try await Task.sleep(for: .seconds(8))
                    try await writer.finish(nil)
                }
            )
        }
        router.post("/answers") { _, _ in
            Response(status: .ok, body: ResponseBody(byteBuffer: ByteBuffer(string: #"{"ok":true}"#)))
        }
        return Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
    }

    /// The default deadline is generous (a loaded test machine); the stall test passes a short one.
    func call(
        _ connection: CoordinatorConnection,
        _ path: String,
        timeout: Duration = .seconds(15)
    ) async -> Result<JSONValue, CoordinatorCallError> {
        do throws(CoordinatorCallError) {
            return .success(try await connection.post(path, body: ["probe": true], timeout: timeout))
        } catch {
            return .failure(error)
        }
    }

    @Test("5xx and stalls are retryable, 4xx is not, a non-JSON 200 is malformed")
    func outcomes() async throws {
        try await Self.application().test(.live) { client in
            let connection = try CoordinatorConnection(baseURL: "http://127.0.0.1:\(try #require(client.port))/")
            let answered = await call(connection, "/answers")
            let overloaded = await call(connection, "/overloaded")
            let refused = await call(connection, "/refuses")
            let lies = await call(connection, "/lies")
            let started = ContinuousClock.now
            let stalled = await call(connection, "/stalls", timeout: .seconds(2))
            let stalledFor = ContinuousClock.now - started
            // Shut down before any assertion: AsyncHTTPClient must be shut down before it goes away.
            await connection.shutdown()

            #expect((try? answered.get()) == ["ok": true])
            #expect(failure(overloaded)?.kind == .serverError(status: 503) && failure(overloaded)?.isRetryable == true)
            #expect(failure(refused)?.kind == .refused(status: 401) && failure(refused)?.isRetryable == false)
            #expect(failure(refused)?.message.contains("wrong secret") == true)
            #expect(failure(lies)?.kind == .malformedReply)
            #expect(failure(stalled)?.kind == .unreachable && failure(stalled)?.isRetryable == true)
            #expect(stalledFor < .seconds(6))
        }
    }

    func failure(_ outcome: Result<JSONValue, CoordinatorCallError>) -> CoordinatorCallError? {
        if case .failure(let error) = outcome { return error }
        return nil
    }

    @Test("a coordinator that is gone is unreachable; a bad URL is refused at once")
    func gone() async throws {
        let connection = try CoordinatorConnection(baseURL: "http://127.0.0.1:1")
        let outcome = await call(connection, "/api/v1/checkin")
        await connection.shutdown()
        #expect(failure(outcome)?.kind == .unreachable)
        #expect(failure(outcome)?.message.contains("cannot reach") == true)
        #expect(throws: CoordinatorCallError.self) { _ = try CoordinatorConnection(baseURL: "ftp://x") }
    }
}
