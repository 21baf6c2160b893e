#if canImport(Glibc)
import Glibc
#endif

/// One line on stderr, written at once: for messages before logging is set up (a configuration error) and for
/// command-line tools.
public enum StandardError {
    public static func write(line text: String) {
        let line = Array((text + "\n").utf8)
        _ = line.withUnsafeBytes { Glibc.write(STDERR_FILENO, $0.baseAddress, $0.count) }
    }
}
