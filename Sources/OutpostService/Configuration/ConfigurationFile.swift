import OutpostTOML

#if canImport(Glibc)
import Glibc
#endif

/// Reading a daemon's TOML configuration file, with errors that name the file, the line and the reason.
public enum ConfigurationFile {
    /// Reads a whole file as UTF-8, with errors that name the file and the reason.
    public static func read(_ path: String) throws(ConfigurationError) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw ConfigurationError(
                file: path,
                message: "cannot read the configuration file: \(String(cString: strerror(errno)))"
            )
        }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16384)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw ConfigurationError(
                    file: path,
                    message: "cannot read the configuration file: \(String(cString: strerror(errno)))"
                )
            }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[..<count])
            guard bytes.count <= 1 << 20 else {
                throw ConfigurationError(
                    file: path,
                    message: "the configuration file is over 1 MiB; is this the right file?"
                )
            }
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw ConfigurationError(file: path, message: "the configuration file is not valid UTF-8")
        }
        return text
    }

    /// Parses `text` into the top-level section; `file` names it in errors.
    public static func root(text: String, file: String) throws(ConfigurationError) -> ConfigurationSection {
        do {
            return ConfigurationSection(file: file, name: "", table: try TOMLParser.parse(text))
        } catch {
            throw ConfigurationError(file: file, line: error.line, message: "\(error.message) (column \(error.column))")
        }
    }
}

extension ConfigurationFile {
    /// Whether `path` exists (a missing default configuration file means "use the defaults").
    public static func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0 || errno != ENOENT
    }
}
