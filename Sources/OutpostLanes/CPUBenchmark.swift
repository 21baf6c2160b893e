import OutpostCore

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
        let model = SmallFile.lines("/proc/cpuinfo").first { $0.hasPrefix("model name") }?
            .split(separator: ":", maxSplits: 1).last.map { String($0.drop { $0 == " " }) }
        return "\(model ?? "unknown") x\(LaneConfiguration.onlineCPUs)"
    }
}
