import OutpostHTTP
import OutpostService

extension NodeConfigurationLoader {
    /// `[remote]`: an address without TLS is refused here, so the daemon never starts a listener in clear text.
    static func parseRemote(_ section: ConfigurationSection) throws(ConfigurationError) -> NodeConfiguration.Remote {
        try section.rejectUnknownKeys(known: [
            "listen", "certificate", "private_key", "allowed_origins", "max_connections",
            "login_failures_per_minute", "request_timeout",
        ])
        var remote = NodeConfiguration.Remote()
        for address in try section.stringArray("listen") ?? [] {
            guard let (host, port) = HostPort.split(address), port > 0 else {
                throw section.error(
                    "listen",
                    "\"\(address)\" must be HOST:PORT with a port, an IPv6 host in brackets ([::1]:8471)"
                )
            }
            remote.listen.append((host, port))
        }
        remote.certificate = try section.path("certificate")
        remote.privateKey = try section.path("private_key")
        remote.allowedOrigins = try section.stringArray("allowed_origins") ?? []
        if let value = try section.integer("max_connections", in: 1...1_000_000) { remote.maxConnections = value }
        if let value = try section.integer("login_failures_per_minute", in: 1...10_000) {
            remote.loginFailuresPerMinute = value
        }
        if let value = try section.integer("request_timeout", in: 1...3600) { remote.requestTimeoutSeconds = value }
        if remote.isEnabled, remote.certificate == nil || remote.privateKey == nil {
            throw section.error(
                "listen",
                "needs TLS: set [remote] certificate and private_key (PEM files); outpostd never serves the remote "
                    + "API in clear text"
            )
        }
        return remote
    }
}
