import Dispatch
import OutpostClient
import OutpostCore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Runs a transfer and, on a terminal, draws its progress on stderr five times a second:
/// `data:big.iso  41% [========>             ] 840.0 MiB / 2.0 GiB  312.4 MiB/s  ETA 4 s`.
enum ProgressBar {
    /// Runs `body` off this thread (the transfer is async; `outpostctl` is not) and waits for it, drawing meanwhile.
    /// - Returns: what `body` returned and the seconds it took.
    static func run<T: Sendable>(
        _ progress: TransferProgress,
        label: String,
        quiet: Bool,
        _ body: @escaping @Sendable () async throws(ControlClientError) -> T
    ) throws -> (T, Double) {
        let outcome = Mutex<Result<T, ControlClientError>?>(nil)
        let finished = DispatchSemaphore(value: 0)
        let start = MonotonicClock.seconds()
        Task.detached {
            do throws(ControlClientError) {
                let value = try await body()
                outcome.withLock { $0 = .success(value) }
            } catch {
                outcome.withLock { $0 = .failure(error) }
            }
            finished.signal()
        }
        let drawing = !quiet && isatty(STDERR_FILENO) == 1
        var rate = RateEstimate()
        while finished.wait(timeout: .now() + 0.2) == .timedOut {
            guard drawing else { continue }
            rate.add(progress.done, at: MonotonicClock.seconds(), phase: progress.phase)
            FileHandleStandardError.write(
                "\r\u{1B}[K" + line(progress, label: label, bytesPerSecond: rate.bytesPerSecond)
            )
        }
        if drawing { FileHandleStandardError.write("\r\u{1B}[K") }
        let seconds = MonotonicClock.seconds() - start
        switch outcome.withLock({ $0 }) {
        case .success(let value): return (value, seconds)
        case .failure(let error): throw CommandFailure(error)
        case nil: throw CommandFailure(ControlClientError(code: .io, message: "the transfer ended without a result"))
        }
    }

    static func line(_ progress: TransferProgress, label: String, bytesPerSecond: Double) -> String {
        let done = progress.done
        guard let total = progress.total, total > 0 else { return "\(label)  \(ByteCount.text(done))" }
        let fraction = min(Double(done) / Double(total), 1)
        let width = 24
        let filled = Int(fraction * Double(width))
        let bar =
            String(repeating: "=", count: filled) + (filled < width ? ">" : "")
            + String(repeating: " ", count: max(width - filled - 1, 0))
        let phase: String
        switch progress.phase {
        case .checksumming: phase = "checksum "
        case .verifying: phase = "verifying "
        case .transferring: phase = ""
        }
        var text =
            "\(label)  \(phase)\(Int(fraction * 100))% [\(bar)] \(ByteCount.text(done)) / \(ByteCount.text(total))"
        if bytesPerSecond > 0 {
            text += "  \(ByteCount.text(Int64(bytesPerSecond)))/s"
            text += "  ETA \(Int((Double(total - done) / bytesPerSecond).rounded(.up))) s"
        }
        return text
    }

    /// One decimal place, without Foundation's formatting.
    static func decimal(_ value: Double) -> String {
        let tenths = Int((value * 10).rounded())
        return "\(tenths / 10).\(tenths % 10)"
    }
}

/// The rate over the last two seconds or so, restarted when the phase changes.
private struct RateEstimate {
    private var samples: [(bytes: Int64, at: Double)] = []
    private var phase: TransferProgress.Phase?

    mutating func add(_ bytes: Int64, at time: Double, phase: TransferProgress.Phase) {
        if phase != self.phase {
            samples.removeAll()
            self.phase = phase
        }
        samples.append((bytes, time))
        if samples.count > 10 { samples.removeFirst() }
    }

    var bytesPerSecond: Double {
        guard let first = samples.first, let last = samples.last, last.at > first.at else { return 0 }
        return Double(last.bytes - first.bytes) / (last.at - first.at)
    }
}

/// Sizes as people read them: 512 B, 3.2 KiB, 840.0 MiB, 2.0 GiB.
enum ByteCount {
    static func text(_ bytes: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(bytes) B" : "\(ProgressBar.decimal(value)) \(units[unit])"
    }
}
