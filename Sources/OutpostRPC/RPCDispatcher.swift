/// One control-API method: the parameter names it takes and what it does with them for a given caller.
public struct RPCMethod<Context: Sendable>: Sendable {
    public typealias Handler = @Sendable (RPCParams, Context) async throws -> JSONValue

    public let name: String
    public let parameters: Set<String>
    public let handler: Handler

    public init(_ name: String, parameters: Set<String> = [], handler: @escaping Handler) {
        self.name = name
        self.parameters = parameters
        self.handler = handler
    }
}

/// JSON-RPC 2.0 over one line of bytes: parse, validate, route to a method, and serialize the answer.
///
/// It is pure protocol logic, with no sockets (STYLE.md rule 5): the control server hands it a line and a context
/// (who is calling) and writes back whatever it returns, so tests call it directly.
public struct RPCDispatcher<Context: Sendable>: Sendable {
    /// Decides whether a caller may call a method at all, before its parameters are read: the remote listener's
    /// "sign in first" rule. Nil admits every call.
    public typealias Admission = @Sendable (_ method: String, _ context: Context) -> RPCError?

    private let methods: [String: RPCMethod<Context>]
    private let admission: Admission?

    public init(methods: [RPCMethod<Context>], admission: Admission? = nil) {
        self.methods = Dictionary(methods.map { ($0.name, $0) }, uniquingKeysWith: { _, last in last })
        self.admission = admission
    }

    /// The same methods plus `more` (which win on a name clash), with `admission` in front of them all.
    public func adding(_ more: [RPCMethod<Context>], admission: Admission?) -> RPCDispatcher {
        RPCDispatcher(methods: Array(methods.values) + more, admission: admission)
    }

    public var methodNames: [String] { methods.keys.sorted() }

    /// Handles one line (without its newline). Returns the response bytes (without a newline), or nil when nothing is
    /// to be sent back (a notification, or a batch of notifications).
    public func handle(line: some Collection<UInt8>, context: Context) async -> [UInt8]? {
        let value: JSONValue
        do {
            value = try JSONCoding.parse(line)
        } catch {
            return JSONCoding.serialize(RPCResponse(id: .null, outcome: .failure(.parseError(error.description))).json)
        }
        guard let response = await handle(value: value, context: context) else { return nil }
        return JSONCoding.serialize(response)
    }

    /// Handles a parsed message: a request, a notification, or a batch of them.
    public func handle(value: JSONValue, context: Context) async -> JSONValue? {
        guard case .array(let batch) = value else {
            return await handleSingle(value, context: context)?.json
        }
        guard !batch.isEmpty else {
            return RPCResponse(id: .null, outcome: .failure(.invalidRequest("an empty batch"))).json
        }
        var responses: [JSONValue] = []
        for element in batch {
            if let response = await handleSingle(element, context: context) { responses.append(response.json) }
        }
        return responses.isEmpty ? nil : .array(responses)
    }

    private func handleSingle(_ value: JSONValue, context: Context) async -> RPCResponse? {
        let request: RPCRequest
        switch RPCRequest.validate(value) {
        case .success(let valid): request = valid
        case .failure(let failure): return RPCResponse(id: failure.id, outcome: .failure(failure.error))
        }
        let outcome = await call(request, context: context)
        guard let id = request.id else { return nil }
        return RPCResponse(id: id, outcome: outcome)
    }

    /// Runs one validated request and returns its result or error.
    public func call(_ request: RPCRequest, context: Context) async -> Result<JSONValue, RPCError> {
        if let refusal = admission?(request.method, context) { return .failure(refusal) }
        guard let method = methods[request.method] else { return .failure(.methodNotFound(request.method)) }
        do {
            let params = try RPCParams(method: method.name, params: request.params, allowed: method.parameters)
            return .success(try await method.handler(params, context))
        } catch let error as RPCError {
            return .failure(error)
        } catch {
            return .failure(.internalError("\(request.method) failed: \(error)"))
        }
    }
}
