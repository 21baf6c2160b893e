import OutpostCrypto
import OutpostService

#if canImport(Glibc)
import Glibc
#endif

/// The admin API key: one line in a file only its owner may read.
///
/// Made on first start when missing (the coordinator's own state directory is private), and refused when the file is
/// readable by group or others, as ssh refuses a private key with loose permissions.
public enum AdminKeyFile {
    public static func loadOrCreate(_ path: String) throws(StateDirectoryError) -> (key: String, created: Bool) {
        var status = stat()
        if stat(path, &status) != 0 {
            guard errno == ENOENT else {
                throw StateDirectoryError(path: path, message: "cannot read: \(String(cString: strerror(errno)))")
            }
            let key = Hex.encode(SecretBytes.random(count: 32))
            try StateDirectory.writeAtomically(path, contents: key + "\n", mode: 0o600)
            return (key, true)
        }
        return (try load(path), false)
    }

    /// Reads a key file, refusing one that others could read.
    public static func load(_ path: String) throws(StateDirectoryError) -> String {
        var status = stat()
        guard stat(path, &status) == 0 else {
            throw StateDirectoryError(path: path, message: "cannot read: \(String(cString: strerror(errno)))")
        }
        guard status.st_mode & 0o077 == 0 else {
            throw StateDirectoryError(
                path: path,
                message: "holds a secret but is readable by others (mode \(String(status.st_mode & 0o777, radix: 8))); "
                    + "run chmod 600 on it"
            )
        }
        guard let text = try StateDirectory.readSmallFile(path),
            let key = text.split(whereSeparator: \.isWhitespace).first, key.utf8.count >= 16
        else {
            throw StateDirectoryError(path: path, message: "does not hold a key of at least 16 characters")
        }
        return String(key)
    }
}
