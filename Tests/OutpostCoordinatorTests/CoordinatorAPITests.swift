import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import OutpostCheckin
import OutpostRPC
import Testing

@testable import OutpostCoordinator

#if canImport(Glibc)
import Glibc
#endif

@Suite("Coordinator HTTP API")
struct CoordinatorAPITests {
    static let apiKey = "0123456789abcdef0123456789abcdef"

    func application(_ harness: RegistryHarness, timeout: Int = 30) throws -> some ApplicationProtocol {
        var configuration = CoordinatorConfiguration()
        configuration.requestTimeoutSeconds = timeout
        let routes = CoordinatorRoutes(
            registry: harness.registry,
            apiKey: Self.apiKey,
            adminUserID: harness.adminID,
            maximumBodyBytes: 64 * 1024
        )
        return Application(
            router: routes.router(),
            server: try CoordinatorDaemon.serverBuilder(configuration),
            configuration: .init(address: .hostname("127.0.0.1", port: 0))
        )
    }

    static func body(_ json: JSONValue) -> ByteBuffer { ByteBuffer(bytes: JSONCoding.serialize(json)) }

    static func json(_ buffer: ByteBuffer) -> JSONValue? { try? JSONCoding.parse(buffer.readableBytesView) }

    @Test("bad input gets a clear 4xx: malformed JSON, unknown fields, wrong types, a huge body, a bad query")
    func badInput() async throws {
        let harness = try await RegistryHarness()
        let token = try await harness.token()
        try await application(harness).test(.router) { client in
            let enroll = CheckinProtocol.enrollPath
            try await client.execute(uri: enroll, method: .post, body: ByteBuffer(string: "{\"token\": ")) { response in
                #expect(response.status == .badRequest)
                #expect(Self.json(response.body)?["error"]?.stringValue?.contains("not valid JSON") == true)
            }
            var report = RegistryHarness.report().json
            if case .object(var object) = report {
                object["favourite_colour"] = "blue"
                report = .object(object)
            }
            try await client.execute(
                uri: enroll,
                method: .post,
                body: Self.body(["token": .string(token), "client": report])
            ) { response in
                #expect(response.status == .badRequest)
                #expect(Self.json(response.body)?["error"]?.stringValue?.contains("favourite_colour") == true)
            }
            try await client.execute(
                uri: enroll,
                method: .post,
                body: Self.body(["token": 42, "client": RegistryHarness.report().json])
            ) { response in
                #expect(response.status == .badRequest)
            }
            let huge = ByteBuffer(repeating: UInt8(ascii: " "), count: 10 << 20)
            try await client.execute(uri: enroll, method: .post, body: huge) { response in
                #expect(response.status == .contentTooLarge)
            }
            try await client.execute(
                uri: CheckinProtocol.checkinPath,
                method: .post,
                headers: [.authorization: "Bearer 5da08873b0eb10fade60b3f7.wrong"],
                body: Self.body(RegistryHarness.report().json)
            ) { response in
                #expect(response.status == .unauthorized)
            }
            try await client.execute(uri: "/api/v1/admin/find", method: .post, body: Self.body(["query": "Client"])) {
                response in
                #expect(response.status == .unauthorized)
            }
            try await client.execute(
                uri: "/api/v1/admin/find",
                method: .post,
                headers: [.authorization: "Bearer \(Self.apiKey)"],
                body: Self.body(["entity": "Client", "query": "Client where and"])
            ) { response in
                #expect(response.status == .badRequest)
                #expect(Self.json(response.body)?["error"]?.stringValue?.contains("'and' (character 14)") == true)
            }
        }
    }

    @Test("enroll, check in, find and update through HTTP")
    func flow() async throws {
        let harness = try await RegistryHarness()
        let token = try await harness.token()
        try await application(harness).test(.router) { client in
            var id = ""
            var secret = ""
            try await client.execute(
                uri: CheckinProtocol.enrollPath,
                method: .post,
                body: Self.body(["token": .string(token), "client": RegistryHarness.report().json])
            ) { response in
                #expect(response.status == .ok)
                let json = Self.json(response.body)
                id = json?["id"]?.stringValue ?? ""
                secret = json?["secret"]?.stringValue ?? ""
            }
            try await client.execute(
                uri: "/api/v1/admin/update",
                method: .post,
                headers: [.authorization: "Bearer \(Self.apiKey)"],
                body: Self.body(["entity": "Client", "id": .string(id), "data": ["status": "disabled"]])
            ) { response in
                #expect(response.status == .ok)
            }
            try await client.execute(
                uri: CheckinProtocol.checkinPath,
                method: .post,
                headers: [.authorization: CheckinProtocol.authorization(clientID: id, secret: secret)],
                body: Self.body(RegistryHarness.report().json)
            ) { response in
                #expect(response.status == .ok)
                let reply = try CheckinReply(json: try #require(Self.json(response.body)))
                #expect(reply.status == .disabled)
                #expect(reply.lanes.count == 2)
            }
        }
    }

    @Test("a slowloris client loses its own connection; others are served meanwhile")
    func slowloris() async throws {
        let harness = try await RegistryHarness()
        try await application(harness, timeout: 1).test(.live) { client in
            let port = try #require(client.port)
            let slow = Self.connectLoopback(port: port)
            defer { close(slow) }
            #expect(slow >= 0)
            let start = ContinuousClock.now
            var closedAfter: Duration?
            // One header byte every 300 ms: never idle, never a whole request.
            for byte in Array("POST /api/v1/checkin HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaa".utf8) {
                var one = byte
                var probe: UInt8 = 0
                // The server's close shows as end-of-file on our side (or a failed send once it has reset).
                if send(slow, &one, 1, Int32(MSG_NOSIGNAL)) < 0 || recv(slow, &probe, 1, Int32(MSG_DONTWAIT)) == 0 {
                    closedAfter = ContinuousClock.now - start
                    break
                }
                // A well-behaved client on its own connection is answered meanwhile. (A keep-alive connection idle
                // past the deadline is closed too, so each check opens a new one.)
                #expect(Self.healthAnswer(port: port).hasPrefix("HTTP/1.1 200"))
                try await Task.sleep(for: .milliseconds(300))
            }
            // The trickle would take 21 s; the 1 s deadline ends it far sooner, even on a loaded machine.
            let elapsed = try #require(closedAfter, "the slow connection was never closed")
            #expect(elapsed < .seconds(10))
        }
    }

    static func connectLoopback(port: Int) -> Int32 {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        if connected != 0 {
            close(descriptor)
            return -1
        }
        return descriptor
    }

    /// The first bytes of the answer to `GET /api/v1/health` on a new connection.
    static func healthAnswer(port: Int) -> String {
        let descriptor = connectLoopback(port: port)
        guard descriptor >= 0 else { return "" }
        defer { close(descriptor) }
        let request = Array("GET /api/v1/health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".utf8)
        guard
            request.withUnsafeBytes({ send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) })
                == request.count
        else { return "" }
        var buffer = [UInt8](repeating: 0, count: 64)
        let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
        return count > 0 ? String(decoding: buffer[..<count], as: UTF8.self) : ""
    }
}
