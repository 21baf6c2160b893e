import ArgumentParser
import OutpostCheckin
import OutpostCoordinator
import OutpostRPC
import OutpostService

#if canImport(Glibc)
import Glibc
#endif

/// How the admin command line finds the coordinator: its URL and API key come from the configuration file unless
/// given here.
struct AdminOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The coordinator's configuration file.", valueName: "path"))
    var config: String?

    @Option(
        name: .long,
        help: ArgumentHelp("The coordinator's URL (default: from its configuration).", valueName: "url")
    )
    var url: String?

    @Option(
        name: .long,
        help: ArgumentHelp("The admin API key file (default: from the configuration).", valueName: "path")
    )
    var apiKeyFile: String?

    @Option(name: .long, help: ArgumentHelp("PEM certificates to trust for an https coordinator.", valueName: "path"))
    var caFile: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "A PEM client certificate that the coordinator's [tls] admin_ca trusts (instead of the API key).",
            valueName: "path"
        )
    )
    var clientCertificate: String?

    @Option(name: .long, help: ArgumentHelp("The client certificate's PEM private key.", valueName: "path"))
    var clientKey: String?

    @Flag(name: .long, help: "Print machine-readable JSON instead of text.")
    var json = false

    /// Calls one admin endpoint and returns its JSON answer; failures become a message and exit status 1 (or 77 for
    /// a refused key, 69 for an unreachable coordinator).
    func call(_ name: String, _ body: JSONValue) async throws -> JSONValue {
        try await withConnection { (connection, authorization) throws(CoordinatorCallError) in
            try await connection.post("/api/v1/admin/\(name)", body: body, authorization: authorization)
        }
    }

    /// Runs `operation` with a connection to the coordinator and the admin authorization header; maps failures to
    /// messages and exit statuses as `call` does.
    func withConnection<Value>(
        _ operation: (CoordinatorConnection, String) async throws(CoordinatorCallError) -> Value
    ) async throws -> Value {
        let configuration: CoordinatorConfiguration
        do {
            configuration = try CoordinatorConfigurationLoader.load(
                path: config ?? CoordinatorConfigurationLoader.defaultPath,
                isExplicit: config != nil
            )
        } catch {
            throw ValidationError("configuration error: \(error)")
        }
        guard (clientCertificate == nil) == (clientKey == nil) else {
            throw ValidationError("--client-certificate and --client-key go together")
        }
        var authorization = ""
        if clientCertificate == nil {
            do {
                authorization = "Bearer " + (try AdminKeyFile.load(apiKeyFile ?? configuration.resolvedAPIKeyFile))
            } catch {
                throw ValidationError("cannot read the API key: \(error)")
            }
        }
        let connection: CoordinatorConnection
        do {
            connection = try CoordinatorConnection(
                baseURL: url ?? configuration.url,
                caFile: caFile,
                clientIdentity: clientCertificate.flatMap { certificate in clientKey.map { (certificate, $0) } }
            )
        } catch {
            throw ValidationError("cannot use the TLS files: \(error)")
        }
        do {
            let answer = try await operation(connection, authorization)
            await connection.shutdown()
            return answer
        } catch {
            await connection.shutdown()
            StandardError.write(line: "outpost-coordinator: \(error.message)")
            switch error.kind {
            case .refused(status: 401), .refused(status: 403): throw ExitCode(77)
            case .unreachable: throw ExitCode(69)
            default: throw ExitCode(1)
            }
        }
    }
}

/// `30s`, `15m`, `24h`, `7d` or plain seconds.
func seconds(fromDuration text: String) -> Double? {
    let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]
    if let unit = text.last, let multiplier = units[unit], let value = Double(text.dropLast()), value > 0 {
        return value * multiplier
    }
    if let value = Double(text), value > 0 { return value }
    return nil
}
