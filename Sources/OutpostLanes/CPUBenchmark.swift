#if canImport(Glibc)
import Glibc
#endif

/// A short single-core benchmark, so that a coordinator can weigh lanes of different machines: millions of
/// floating-point and integer operations per second, measured over about 0.3 s. Cached by the lanes (keyed by the CPU
/// model and count), so it runs once per machine, not at every start.
public enum CPUBenchmark {
    /// Operations per second, in millions.
    public static func measure(duration: Duration = .milliseconds(300)) -> Double {
        let clock = ContinuousClock()
        let start = clock.now
        var operations = 0.0
        var x = 1.000001
        var n: UInt64 = 0x9E37_79B9_7F4A_7C15
        while clock.now - start < duration {
            for _ in 0..<100_000 {
                x = x * 1.000000001 + 0.000000001
                n = n &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            }
            operations += 200_000
        }
        // Keep the loop from being optimized away.
        if x.isNaN || n == 0 { operations += 1 }
        return operations / TaskExecution.seconds(clock.now - start) / 1e6
    }

    /// What identifies the machine's CPU for the cache: the model name from /proc/cpuinfo and the core count.
    public static var machineKey: String {
        var model = "unknown"
        if let file = fopen("/proc/cpuinfo", "r") {
            defer { fclose(file) }
            var line: UnsafeMutablePointer<CChar>?
            var capacity = 0
            while getline(&line, &capacity, file) > 0, let line {
                let text = String(cString: line)
                if text.hasPrefix("model name"), let colon = text.firstIndex(of: ":") {
                    model = String(text[text.index(after: colon)...]).filter { $0 != "\n" }
                    break
                }
            }
            free(line)
        }
        return "\(model) x\(LaneConfiguration.onlineCPUs)"
    }
}
