/// One word of a query, with where it starts so an error can point at it.
struct QueryToken: Sendable, Equatable {
    enum Kind: Sendable, Equatable {
        /// A bare word: an entity, attribute, keyword or unquoted value (`Client`, `status`, `and`, `hq`, `12.5`).
        case word(String)
        /// A quoted value, quotes removed and `\'`/`\"`/`\\` unescaped.
        case string(String)
        case comparison(QueryComparison)
        case openParenthesis
        case closeParenthesis
        case comma
        case end
    }

    var kind: Kind
    /// The 1-based character position in the query.
    var position: Int
    /// The text as written, for error messages.
    var text: String
}

/// `= != < > <= >=`.
public enum QueryComparison: String, Sendable, Equatable {
    case equal = "="
    case notEqual = "!="
    case less = "<"
    case greater = ">"
    case lessOrEqual = "<="
    case greaterOrEqual = ">="
}

/// A query the coordinator cannot run, with the offending word and its position.
public struct ClientQueryError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    /// The 1-based character position of the offending word, or nil for whole-query problems.
    public var position: Int?
    public var word: String?

    public var description: String {
        guard let position else { return message }
        let shown = (word?.isEmpty ?? true) ? "end of query" : "'\(word!)'"
        return "query error at \(shown) (character \(position)): \(message)"
    }
}

/// Splits a query into tokens. Words run until whitespace or one of `()=!<>,'"`, so values such as
/// `disabled-offline`, `2022-01-21T07:51:57` and `12:00:7C:18:F1:11` need no quotes.
struct QueryTokenizer {
    static let maximumLength = 4096

    static func tokens(_ query: String) throws(ClientQueryError) -> [QueryToken] {
        let characters = Array(query.unicodeScalars)
        guard characters.count <= maximumLength else {
            throw ClientQueryError(message: "the query is longer than \(maximumLength) characters")
        }
        var tokens: [QueryToken] = []
        var index = 0
        func token(_ kind: QueryToken.Kind, from start: Int) {
            let text = String(String.UnicodeScalarView(characters[start..<index]))
            tokens.append(QueryToken(kind: kind, position: start + 1, text: text))
        }
        while index < characters.count {
            let character = characters[index]
            let start = index
            switch character {
            case " ", "\t", "\n", "\r":
                index += 1
            case "(":
                index += 1
                token(.openParenthesis, from: start)
            case ")":
                index += 1
                token(.closeParenthesis, from: start)
            case ",":
                index += 1
                token(.comma, from: start)
            case "=":
                index += 1
                token(.comparison(.equal), from: start)
            case "!", "<", ">":
                index += 1
                let followedByEqual = index < characters.count && characters[index] == "="
                if followedByEqual { index += 1 }
                switch (character, followedByEqual) {
                case ("!", true): token(.comparison(.notEqual), from: start)
                case ("<", false): token(.comparison(.less), from: start)
                case ("<", true): token(.comparison(.lessOrEqual), from: start)
                case (">", false): token(.comparison(.greater), from: start)
                case (">", true): token(.comparison(.greaterOrEqual), from: start)
                default:
                    throw ClientQueryError(message: "'!' must be followed by '='", position: start + 1, word: "!")
                }
            case "'", "\"":
                index += 1
                var value = String.UnicodeScalarView()
                var closed = false
                while index < characters.count {
                    let next = characters[index]
                    index += 1
                    if next == character {
                        closed = true
                        break
                    }
                    if next == "\\" && index < characters.count {
                        value.append(characters[index])
                        index += 1
                    } else {
                        value.append(next)
                    }
                }
                guard closed else {
                    throw ClientQueryError(
                        message: "this quoted value has no closing \(character)",
                        position: start + 1,
                        word: String(String.UnicodeScalarView(characters[start..<min(start + 20, characters.count)]))
                    )
                }
                token(.string(String(value)), from: start)
            default:
                guard character.value >= 0x20 else {
                    throw ClientQueryError(
                        message: "control characters are not allowed",
                        position: start + 1,
                        word: "\\u{\(String(character.value, radix: 16))}"
                    )
                }
                while index < characters.count && !Self.endsWord(characters[index]) { index += 1 }
                let text = String(String.UnicodeScalarView(characters[start..<index]))
                token(.word(text), from: start)
            }
        }
        tokens.append(QueryToken(kind: .end, position: characters.count + 1, text: ""))
        return tokens
    }

    private static func endsWord(_ character: Unicode.Scalar) -> Bool {
        switch character {
        case " ", "\t", "\n", "\r", "(", ")", ",", "=", "!", "<", ">", "'", "\"": true
        default: false
        }
    }
}
