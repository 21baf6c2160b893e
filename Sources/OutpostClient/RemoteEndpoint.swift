import NIOCore
import NIOSSL

#if canImport(Glibc)
import Glibc
#endif

/// A node's remote listener as `outpostctl --remote` names it: `wss://HOST:PORT` (a name, an IPv4 address, or an
/// IPv6 address in brackets), and the certificate authorities to trust for it.
public struct RemoteEndpoint: Sendable, CustomStringConvertible {
    /// The host as written, without brackets.
    public let host: String
    public let port: Int
    /// PEM file of the authorities that may sign the node's certificate; nil trusts the system's.
    public let caFile: String?

    public enum ParseError: Error, CustomStringConvertible {
        case invalid(String)
        public var description: String {
            guard case .invalid(let text) = self else { return "" }
            return "'\(text)' is not a remote node: write wss://HOST:PORT (an IPv6 address in brackets: "
                + "wss://[::1]:9443)"
        }
    }

    /// Parses `wss://HOST:PORT`, `wss://HOST:PORT/`, or the same without the scheme.
    public init(_ text: String, caFile: String? = nil) throws(ParseError) {
        var rest = Substring(text)
        if rest.hasPrefix("wss://") {
            rest = rest.dropFirst(6)
        } else if rest.contains("://") {
            throw .invalid(text)  // ws:// or https://: the listener speaks only WebSocket over TLS
        }
        while rest.hasSuffix("/") { rest = rest.dropLast() }
        if rest.hasSuffix("/api/websocket") { rest = rest.dropLast("/api/websocket".count) }
        let hostPart: Substring
        let portPart: Substring
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]"), rest[rest.index(after: close)...].hasPrefix(":") else {
                throw .invalid(text)
            }
            hostPart = rest[rest.index(after: rest.startIndex)..<close]
            portPart = rest[rest.index(close, offsetBy: 2)...]
        } else {
            guard let colon = rest.lastIndex(of: ":"), !rest[..<colon].contains(":") else { throw .invalid(text) }
            hostPart = rest[..<colon]
            portPart = rest[rest.index(after: colon)...]
        }
        guard !hostPart.isEmpty, !hostPart.contains("/"), let port = Int(portPart), (1...65535).contains(port) else {
            throw .invalid(text)
        }
        host = String(hostPart)
        self.port = port
        self.caFile = caFile
    }

    /// `HOST:PORT` for a URL: IPv6 addresses in brackets.
    public var authority: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    public var description: String { "wss://\(authority)" }

    /// An IP address is checked against the certificate's IP entries and never sent as SNI (which allows only names).
    var isIPAddress: Bool {
        host.contains(":") || host.split(separator: ".").count == 4 && host.allSatisfy { $0.isNumber || $0 == "." }
    }

    /// A failure to reach the node, in words that say what to check: nothing listening (is the listener configured
    /// there?), or a TLS handshake that failed (almost always the authority the client trusts, or the name in the
    /// node's certificate). Nil for any other error.
    func connectionFailure(_ error: any Error) -> ControlClientError? {
        if (error as? IOError)?.errnoCode == ECONNREFUSED || "\(error)".contains("refused") {
            return ControlClientError(
                code: .daemonNotRunning,
                message: "nothing is listening on \(self): is outpostd's [remote] listener configured there?"
            )
        }
        guard error is NIOSSLError || error is NIOSSLExtraError || error is BoringSSLError else { return nil }
        return ControlClientError(
            code: .permissionDenied,
            message: "the TLS handshake with \(self) failed (\(error)): is the node's certificate signed by the "
                + "authority in --ca-file, and does it name the host you connect to?"
        )
    }

    /// The client side of TLS: full certificate and host name verification against `caFile`, or the system's roots.
    func tlsConfiguration() -> TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        if let caFile { configuration.trustRoots = .file(caFile) }
        return configuration
    }
}

/// How a remote client signs in: a shared token (`outpostctl token create`), or a user's password.
public enum RemoteSignIn: Sendable {
    case token(String, password: String?)
    case password(userName: String, password: String)
}
