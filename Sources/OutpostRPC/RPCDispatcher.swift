/// One control-API method: the parameter names it takes and what it does with them for a given caller.
public struct RPCMethod<Context: Sendable>: Sendable {
    public typealias Handler = @Sendable (RPCParams, Context) async throws -> JSONValue
    /// A method whose result is JSON text already (see `SerializedJSON`).
    public typealias SerializedHandler = @Sendable (RPCParams, Context) async throws -> SerializedJSON
    /// Answers at once, on the caller's thread, without suspending; nil when the call has to wait (then the method's
    /// handler answers it). It must not change anything before it decides to answer.
    public typealias ImmediateHandler = @Sendable (RPCParams, Context) throws -> SerializedJSON?

    public let name: String
    public let parameters: Set<String>
    public let handler: Handler
    /// Set for methods whose result is serialized where it is made: the dispatcher splices it into the response.
    public let serializedHandler: SerializedHandler?
    /// Set for methods that can often answer without waiting: the control server asks it first, on its event loop.
    public let immediateHandler: ImmediateHandler?

    public init(_ name: String, parameters: Set<String> = [], handler: @escaping Handler) {
        self.name = name
        self.parameters = parameters
        self.handler = handler
        serializedHandler = nil
        immediateHandler = nil
    }

    public init(
        _ name: String,
        parameters: Set<String> = [],
        serialized: @escaping SerializedHandler,
        immediate: ImmediateHandler? = nil
    ) {
        self.name = name
        self.parameters = parameters
        handler = { params, context in try await serialized(params, context).value }
        serializedHandler = serialized
        immediateHandler = immediate
    }
}

/// JSON-RPC 2.0 over one line of bytes: parse, validate, route to a method, and serialize the answer.
///
/// It is pure protocol logic, with no sockets (protocol logic is kept apart from I/O, so it is tested without sockets): the control server hands it a line and a context
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
        guard case .object = value else {
            guard let response = await handle(value: value, context: context) else { return nil }
            return JSONCoding.serialize(response)
        }
        // A single request: a serialized result goes into the response as it is.
        guard let (id, outcome) = await handleSingle(value, context: context) else { return nil }
        return Self.response(id, outcome)
    }

    /// Answers `line` at once when it is a single request whose method can answer without waiting
    /// (`RPCMethod.immediateHandler`); nil when it cannot, and then `handle(line:context:)` is to be given the line.
    /// The control server calls it on its event loop, before handing a line to a task.
    public func answerImmediately(line: some Collection<UInt8>, context: Context) -> [UInt8]? {
        guard let value = try? JSONCoding.parse(line), case .object = value,
            case .success(let request) = RPCRequest.validate(value), let id = request.id,
            let method = methods[request.method], let immediate = method.immediateHandler
        else { return nil }
        if let refusal = admission?(request.method, context) { return Self.response(id, .failure(refusal)) }
        do {
            let params = try RPCParams(method: method.name, params: request.params, allowed: method.parameters)
            guard let result = try immediate(params, context) else { return nil }
            return Self.response(id, .success(.serialized(result)))
        } catch let error as RPCError {
            return Self.response(id, .failure(error))
        } catch {
            return Self.response(id, .failure(.internalError("\(request.method) failed: \(error)")))
        }
    }

    /// Handles a parsed message: a request, a notification, or a batch of them.
    public func handle(value: JSONValue, context: Context) async -> JSONValue? {
        guard case .array(let batch) = value else {
            return await handleSingle(value, context: context).map(Self.responseValue)
        }
        guard !batch.isEmpty else {
            return RPCResponse(id: .null, outcome: .failure(.invalidRequest("an empty batch"))).json
        }
        var responses: [JSONValue] = []
        for element in batch {
            if let answered = await handleSingle(element, context: context) {
                responses.append(Self.responseValue(answered))
            }
        }
        return responses.isEmpty ? nil : .array(responses)
    }

    /// One request's id and outcome; nil for a notification (no answer). An envelope that cannot be accepted is
    /// answered with its error even then.
    private func handleSingle(
        _ value: JSONValue,
        context: Context
    ) async -> (id: RPCRequestID, outcome: Result<RPCResult, RPCError>)? {
        let request: RPCRequest
        switch RPCRequest.validate(value) {
        case .success(let valid): request = valid
        case .failure(let failure): return (failure.id, .failure(failure.error))
        }
        let outcome = await answer(request, context: context)
        guard let id = request.id else { return nil }
        return (id, outcome)
    }

    private static func responseValue(_ answered: (id: RPCRequestID, outcome: Result<RPCResult, RPCError>)) -> JSONValue
    {
        RPCResponse(id: answered.id, outcome: answered.outcome.map(\.value)).json
    }

    /// Runs one validated request and returns its result or error.
    public func call(_ request: RPCRequest, context: Context) async -> Result<JSONValue, RPCError> {
        await answer(request, context: context).map(\.value)
    }

    private func answer(_ request: RPCRequest, context: Context) async -> Result<RPCResult, RPCError> {
        if let refusal = admission?(request.method, context) { return .failure(refusal) }
        guard let method = methods[request.method] else { return .failure(.methodNotFound(request.method)) }
        do {
            let params = try RPCParams(method: method.name, params: request.params, allowed: method.parameters)
            if let serialized = method.serializedHandler {
                return .success(.serialized(try await serialized(params, context)))
            }
            return .success(.value(try await method.handler(params, context)))
        } catch let error as RPCError {
            return .failure(error)
        } catch {
            return .failure(.internalError("\(request.method) failed: \(error)"))
        }
    }

    /// The response's bytes: a serialized result is spliced in, byte for byte what serializing the response object
    /// with the result as a value would give (keys in order: id, jsonrpc, result).
    private static func response(_ id: RPCRequestID, _ outcome: Result<RPCResult, RPCError>) -> [UInt8] {
        switch outcome {
        case .success(.serialized(let result)):
            var bytes: [UInt8] = []
            bytes.reserveCapacity(result.bytes.count + 40)
            JSONCoding.append(syntax: #"{"id":"#, to: &bytes)
            JSONCoding.append(id.json, to: &bytes)
            JSONCoding.append(syntax: #","jsonrpc":"2.0","result":"#, to: &bytes)
            bytes.append(contentsOf: result.bytes)
            bytes.append(UInt8(ascii: "}"))
            return bytes
        case .success(.value(let result)):
            return JSONCoding.serialize(RPCResponse(id: id, outcome: .success(result)).json)
        case .failure(let error):
            return JSONCoding.serialize(RPCResponse(id: id, outcome: .failure(error)).json)
        }
    }
}
