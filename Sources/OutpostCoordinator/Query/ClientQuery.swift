/// A parsed `find` query in the form docs/coordinator.md describes: `Client`, `Client where type=1`,
/// `Client where status=online and (site_hr=hq or site_hr in (lab, remote))`.
///
/// `and` binds tighter than `or`; `not` negates what follows; parentheses group. Values are numbers, `null`, quoted
/// strings or bare words.
public struct ClientQuery: Sendable, Equatable {
    public indirect enum Condition: Sendable, Equatable {
        case comparison(QueryAttribute, QueryComparison, QueryValue)
        case membership(QueryAttribute, [QueryValue], negated: Bool)
        case and(Condition, Condition)
        case or(Condition, Condition)
        case not(Condition)
    }

    /// Nil for a query without `where`: every client.
    public var condition: Condition?

    public static func parse(_ text: String) throws(ClientQueryError) -> ClientQuery {
        var parser = ClientQueryParser(tokens: try QueryTokenizer.tokens(text))
        return try parser.parseQuery()
    }
}

/// A value in a query. Bare words that read as numbers are numbers; `null` is null; everything else is text.
public enum QueryValue: Sendable, Equatable {
    case text(String)
    case number(Double)
    case null
}

/// Recursive descent over the tokens; depth is bounded so a query of 10,000 `(` is an error, not a crash.
struct ClientQueryParser {
    private let tokens: [QueryToken]
    private var index = 0
    private var depth = 0
    static let maximumDepth = 32

    init(tokens: [QueryToken]) {
        self.tokens = tokens
    }

    private var current: QueryToken { tokens[index] }

    private mutating func advance() { if index < tokens.count - 1 { index += 1 } }

    private func fail(_ message: String, at token: QueryToken? = nil) -> ClientQueryError {
        let token = token ?? current
        return ClientQueryError(message: message, position: token.position, word: token.text)
    }

    private func isKeyword(_ keyword: String) -> Bool {
        if case .word(let word) = current.kind { return word.lowercased() == keyword }
        return false
    }

    mutating func parseQuery() throws(ClientQueryError) -> ClientQuery {
        guard case .word(let entity) = current.kind else {
            throw fail("a query starts with the entity name, as in 'Client where type=1'")
        }
        guard entity.lowercased() == "client" else {
            throw fail("unknown entity; only Client can be queried here")
        }
        advance()
        if case .end = current.kind { return ClientQuery(condition: nil) }
        guard isKeyword("where") else { throw fail("expected 'where' after the entity name") }
        advance()
        let condition = try parseOr()
        guard case .end = current.kind else {
            throw fail("expected 'and', 'or' or the end of the query")
        }
        return ClientQuery(condition: condition)
    }

    private mutating func parseOr() throws(ClientQueryError) -> ClientQuery.Condition {
        var condition = try parseAnd()
        while isKeyword("or") {
            advance()
            condition = .or(condition, try parseAnd())
        }
        return condition
    }

    private mutating func parseAnd() throws(ClientQueryError) -> ClientQuery.Condition {
        var condition = try parseUnary()
        while isKeyword("and") {
            advance()
            condition = .and(condition, try parseUnary())
        }
        return condition
    }

    private mutating func parseUnary() throws(ClientQueryError) -> ClientQuery.Condition {
        depth += 1
        defer { depth -= 1 }
        guard depth <= Self.maximumDepth else { throw fail("the query nests deeper than \(Self.maximumDepth) levels") }
        if isKeyword("not") {
            advance()
            return .not(try parseUnary())
        }
        if case .openParenthesis = current.kind {
            advance()
            let inner = try parseOr()
            guard case .closeParenthesis = current.kind else { throw fail("expected ')'") }
            advance()
            return inner
        }
        return try parseComparison()
    }

    private mutating func parseComparison() throws(ClientQueryError) -> ClientQuery.Condition {
        let attributeToken = current
        guard case .word(let name) = attributeToken.kind else {
            throw fail("expected an attribute name, such as status or type")
        }
        guard let attribute = QueryAttribute(name: name) else {
            throw fail(
                "unknown attribute; Client has \(QueryAttribute.names.joined(separator: ", ")), metrics.KEY and metadata.KEY"
            )
        }
        advance()
        if case .comparison(let comparison) = current.kind {
            advance()
            return .comparison(attribute, comparison, try parseValue())
        }
        var negated = false
        if isKeyword("not") {
            negated = true
            advance()
        }
        guard isKeyword("in") else {
            throw fail("expected a comparison (= != < > <= >=) or 'in' after '\(name)'")
        }
        advance()
        guard case .openParenthesis = current.kind else { throw fail("expected '(' after 'in'") }
        advance()
        var values = [try parseValue()]
        while case .comma = current.kind {
            advance()
            values.append(try parseValue())
        }
        guard case .closeParenthesis = current.kind else { throw fail("expected ',' or ')' in the list") }
        advance()
        guard values.count <= 1000 else { throw fail("an 'in' list holds at most 1000 values", at: attributeToken) }
        return .membership(attribute, values, negated: negated)
    }

    private mutating func parseValue() throws(ClientQueryError) -> QueryValue {
        let token = current
        switch token.kind {
        case .string(let text):
            advance()
            return .text(text)
        case .word(let word):
            let lowered = word.lowercased()
            if lowered == "and" || lowered == "or" || lowered == "in" || lowered == "where" {
                throw fail("expected a value; quote it if '\(word)' is meant as one")
            }
            advance()
            if lowered == "null" { return .null }
            if let number = Double(word), number.isFinite { return .number(number) }
            return .text(word)
        default:
            throw fail("expected a value")
        }
    }
}
