import CLinuxShims

/// What this build of Outpost is, as `getServerInfo` and `--version` report it.
public enum OutpostVersion {
    /// The release version of the Outpost programs.
    public static let version = "0.1.0"

    /// The control API's version: the major number changes only when a method or result shape changes incompatibly.
    public static let apiVersion = "1.0"

    /// The running binary's GNU build id in hex: it names the exact build, so two nodes that report the same revision
    /// run the same code. Source revisions are not available to SwiftPM builds without a plugin; the build id is.
    public static let revision: String = {
        var buffer = [UInt8](repeating: 0, count: 64)
        let length = outpost_build_id(&buffer, Int32(buffer.count))
        guard length > 0 else { return "unknown" }
        return buffer.prefix(Int(length)).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }()
}
