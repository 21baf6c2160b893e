import HTTPTypes
import Hummingbird
import Logging
import OutpostCheckin
import OutpostRPC

/// The coordinator's HTTP API: enrollment and check-in for nodes, and the admin API (`find`, `update`, `delete_one`,
/// tokens) behind the API key.
public struct CoordinatorRoutes: Sendable {
    let registry: ClientRegistry
    let project: ProjectStore?
    let admin: AdminAuthenticator
    let exchange: JSONExchange

    public init(
        registry: ClientRegistry,
        project: ProjectStore? = nil,
        apiKey: String,
        adminUserID: String,
        maximumBodyBytes: Int
    ) {
        self.registry = registry
        self.project = project
        admin = AdminAuthenticator(key: apiKey, userID: adminUserID)
        exchange = JSONExchange(maximumBodyBytes: maximumBodyBytes)
    }

    public func router() -> Router<CoordinatorRequestContext> {
        let router = Router(context: CoordinatorRequestContext.self)
        router.get("/api/v1/health") { _, _ in JSONExchange.respond(["status": "ok"]) }
        route(router, CheckinProtocol.enrollPath) { request, context in
            let body = try await exchange.body(request)
            let params = try RPCParams(method: "enroll", params: body, allowed: ["token", "client"])
            let token = try params.string("token")
            guard let client = params.raw("client") else { throw RegistryError(.invalid, "enroll needs 'client'") }
            let report = try CheckinReport(json: client)
            let (reply, secret) = try await registry.enroll(token: token, report: report, wanIP: context.peerAddress)
            context.logger.notice(
                "client enrolled",
                metadata: ["client": "\(reply.id)", "code": "\(report.code)", "site": "\(reply.site)"]
            )
            guard case .object(var object) = reply.json else { return reply.json }
            object["secret"] = .string(secret)
            return .object(object)
        }
        route(router, CheckinProtocol.validateTokenPath) { request, _ in
            let params = try RPCParams(method: "validate", params: try await exchange.body(request), allowed: ["token"])
            let (site, expires) = try await registry.validateToken(try params.string("token"))
            return ["valid": true, "site": .string(site), "expires": .string(ClientTimestamp.format(expires))]
        }
        route(router, CheckinProtocol.checkinPath) { request, context in
            guard let header = request.headers[.authorization],
                let credentials = CheckinProtocol.credentials(fromAuthorization: header)
            else { throw RegistryError(.unauthorized, "a check-in needs 'Authorization: Bearer ID.SECRET'") }
            let report = try CheckinReport(json: try await exchange.body(request))
            return try await registry.checkin(
                clientID: credentials.clientID,
                secret: credentials.secret,
                report: report,
                wanIP: context.peerAddress
            ).json
        }
        adminRoute(router, "find") { params in
            try Self.requireClientEntity(params)
            return .array(try await registry.find(try params.string("query")))
        }
        adminRoute(router, "update") { params in
            try Self.requireClientEntity(params)
            guard let data = params.raw("data") else { throw RegistryError(.invalid, "update needs 'data'") }
            return try await registry.update(id: try params.string("id"), data: data, modifierID: admin.userID)
        }
        adminRoute(router, "delete_one") { params in
            try Self.requireClientEntity(params)
            let id = try params.string("id")
            try await registry.deleteOne(id: id)
            return ["deleted": .string(id)]
        }
        adminRoute(router, "tokens") { params in
            let site = try params.string("site")
            let lifetime = try params.optionalDouble("expires_seconds", in: 1...(366 * 86_400)) ?? 86_400
            let uses = try params.optionalInteger("uses", in: 1...1_000_000).map(Int.init)
            let created = try await registry.createToken(
                site: site,
                lifetime: lifetime,
                uses: uses,
                creatorID: admin.userID
            )
            return [
                "token": .string(created.token), "id": .string(created.id), "site": .string(site),
                "expires": .string(ClientTimestamp.format(created.expires)),
            ]
        }
        if let project { ProjectRoutes(project: project, admin: admin).add(to: router, routes: self) }
        return router
    }

    /// Admin calls take `{entity, query | id, data}` as `find('Client where …')` takes them (docs/coordinator.md).
    private static let adminParameters: Set<String> = [
        "entity", "query", "id", "data", "site", "expires_seconds", "uses",
    ]

    /// An admin call with its own parameter names (the project's calls).
    func adminCall(
        _ router: Router<CoordinatorRequestContext>,
        _ name: String,
        allowed: Set<String>,
        _ handler: @escaping @Sendable (RPCParams) async throws -> JSONValue
    ) {
        route(router, "/api/v1/admin/\(name)") { [admin, exchange] request, context in
            try await admin.authenticate(request, context)
            let params = try RPCParams(method: name, params: try await exchange.body(request), allowed: allowed)
            return try await handler(params)
        }
    }

    private static func requireClientEntity(_ params: RPCParams) throws(RegistryError) {
        let entity = (try? params.optionalString("entity")) ?? nil
        guard entity == nil || entity?.lowercased() == "client" else {
            throw RegistryError(.invalid, "unknown entity '\(entity!)'; only Client is managed here")
        }
    }

    func route(
        _ router: Router<CoordinatorRequestContext>,
        _ path: String,
        _ handler: @escaping @Sendable (Request, CoordinatorRequestContext) async throws -> JSONValue
    ) {
        router.post(RouterPath(path)) { request, context -> Response in
            do {
                return JSONExchange.respond(try await handler(request, context))
            } catch {
                return JSONExchange.failure(error, logger: context.logger)
            }
        }
    }

    private func adminRoute(
        _ router: Router<CoordinatorRequestContext>,
        _ name: String,
        _ handler: @escaping @Sendable (RPCParams) async throws -> JSONValue
    ) {
        route(router, "/api/v1/admin/\(name)") { [admin, exchange] request, context in
            try await admin.authenticate(request, context)
            let params = try RPCParams(
                method: name,
                params: try await exchange.body(request),
                allowed: Self.adminParameters
            )
            return try await handler(params)
        }
    }
}
