import OutpostCore

#if canImport(Glibc)
import Glibc
#endif

/// The machine's `host_id`: the MAC addresses of its real network interfaces, upper case, comma separated.
///
/// "Real" means backed by a device (`/sys/class/net/NAME/device` exists): loopback, bridges, veth pairs, tunnels and
/// container interfaces are left out, so the id stays the same when Docker or a VPN comes and goes.
enum HostInterfaces {
    static func hostID(sysfs: String = "/sys/class/net") -> String {
        guard let directory = opendir(sysfs) else { return "" }
        defer { closedir(directory) }
        var addresses: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            guard !name.hasPrefix("."), access("\(sysfs)/\(name)/device", F_OK) == 0,
                let bytes = SmallFile.read("\(sysfs)/\(name)/address", limit: 64)
            else { continue }
            let address =
                String(decoding: bytes, as: UTF8.self).split(whereSeparator: \.isWhitespace).first
                .map { $0.uppercased() } ?? ""
            guard address.count == 17, address != "00:00:00:00:00:00" else { continue }
            addresses.append(address)
        }
        return addresses.sorted().joined(separator: ", ")
    }
}
