#if canImport(Glibc)
import Glibc
#endif

/// The file a remote client keeps its token in: the token (`ID.SECRET`, as `outpostctl token create` printed it) on
/// the first line, and the token's password on a second line when it was made with one.
///
/// Like ssh with its keys, a file that others may read is refused: the token is as good as a password.
public enum TokenFile {
    public static func read(_ path: String) throws(ControlClientError) -> RemoteSignIn {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else {
            let error = errno
            throw ControlClientError(
                code: .usage,
                message: "cannot open the token file \(path): \(String(cString: strerror(error)))",
                errno: error
            )
        }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0, status.st_mode & S_IFMT == S_IFREG, status.st_size <= 4096 else {
            throw ControlClientError(code: .usage, message: "the token file \(path) is not a small regular file")
        }
        guard status.st_mode & 0o077 == 0 else {
            let mode = String(status.st_mode & 0o777, radix: 8)
            throw ControlClientError(
                code: .usage,
                message: "the token file \(path) may be read by others (mode 0\(mode)): chmod 600 \(path)"
            )
        }
        var bytes = [UInt8](repeating: 0, count: 4097)
        let count = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        guard count >= 0 else {
            throw ControlClientError(code: .io, message: "cannot read the token file \(path)", errno: errno)
        }
        let lines = String(decoding: bytes[..<count], as: UTF8.self)
            .split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.hasSuffix("\r") ? String($0.dropLast()) : String($0) }
        guard let token = lines.first, !token.isEmpty, !token.contains(" ") else {
            throw ControlClientError(
                code: .usage,
                message: "the token file \(path) must hold the token (ID.SECRET) on its first line"
            )
        }
        let password = lines.count > 1 && !lines[1].isEmpty ? lines[1] : nil
        return .token(token, password: password)
    }
}
