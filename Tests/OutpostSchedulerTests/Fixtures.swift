#if canImport(Glibc)
import Glibc
#endif

/// The captures of the real BOINC 7.20.5 client (`Fixtures/boinc-7.20.5`, copied from the project's shared fixtures).
enum Fixtures {
    static let directory: String = {
        let file = #filePath
        let folder = file[..<file.lastIndex(of: "/")!]
        return "\(folder)/Fixtures/boinc-7.20.5"
    }()

    static func bytes(_ name: String) -> [UInt8] {
        let path = "\(directory)/\(name)"
        guard let handle = fopen(path, "rb") else { fatalError("missing fixture \(path)") }
        defer { fclose(handle) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = fread(&buffer, 1, buffer.count, handle)
            if count <= 0 { break }
            bytes += buffer[0..<count]
        }
        return bytes
    }

    static func text(_ name: String) -> String {
        String(decoding: bytes(name), as: UTF8.self)
    }

    static let replies = [
        "004-rpc1_scheduler_reply.xml", "007-rpc2_scheduler_reply.xml", "012-rpc3_scheduler_reply.xml",
        "021-rpc4_scheduler_reply.xml", "024-rpc5_scheduler_reply.xml",
    ]
    static let requests = [
        "003-rpc1_scheduler_request.xml", "006-rpc2_scheduler_request.xml", "011-rpc3_scheduler_request.xml",
        "020-rpc4_scheduler_request.xml", "023-rpc5_scheduler_request.xml",
    ]
}
