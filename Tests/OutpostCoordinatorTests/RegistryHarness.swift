import OutpostCheckin
import Synchronization

@testable import OutpostCoordinator

#if canImport(Glibc)
import Glibc
#endif

/// A registry in a temporary directory with a clock the test moves.
final class RegistryHarness: Sendable {
    let directory: String
    let registry: ClientRegistry
    let adminID: String
    private let clock = ManualClock()

    init(offlineGrace: Double = 900) async throws {
        var template = Array("/tmp/outpost-registry-XXXXXX".utf8CString)
        directory = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
        let clock = self.clock
        registry = try ClientRegistry(
            path: directory + "/registry.sqlite",
            offlineGrace: offlineGrace,
            checkinInterval: 60,
            clock: { clock.now }
        )
        adminID = try await registry.adminUser(name: "admin")
    }

    deinit {
        _ = system("rm -rf '\(directory)'")
    }

    func advance(_ seconds: Double) { clock.advance(seconds) }

    func token(site: String = "hq", uses: Int? = nil) async throws -> String {
        try await registry.createToken(site: site, lifetime: 3600, uses: uses, creatorID: adminID).token
    }

    static func report(code: String = "render01", lanes: Int = 2, cores: Int64 = 8) -> CheckinReport {
        CheckinReport(
            code: code,
            type: .server,
            os: "linux",
            username: "outpost",
            version: "0.1.0",
            hostID: "DE:A1:48:F1:01:22",
            metrics: ClientMetrics(
                cores: cores,
                cpuLoadPercent: 12.5,
                memoryUsedPercent: 40,
                physicalFree: 1 << 30,
                physicalTotal: 4 << 30,
                swapFree: 0,
                swapTotal: 0
            ),
            lanes: (0..<lanes).map { LaneReport(index: Int64($0), benchmark: 100) }
        )
    }
}

/// Wall-clock seconds that move only when a test says so.
final class ManualClock: Sendable {
    private let time = Mutex(1_800_000_000.0)

    var now: Double { time.withLock { $0 } }

    func advance(_ seconds: Double) { time.withLock { $0 += seconds } }
}
