import ArgumentParser
import OutpostRPC

#if canImport(Glibc)
import Glibc
#endif

/// `outpostctl user add|remove|list`: who may sign in on the remote listener with a password (superuser).
struct UserCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "user",
        abstract: "Manage remote users: Unix users of this machine who may sign in remotely with a password.",
        subcommands: [Add.self, Remove.self, List.self]
    )

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set a user's remote password (asked for on a terminal, else read from the first line of stdin)."
        )
        @OptionGroup var global: GlobalOptions
        @Argument(help: "A Unix user of this machine.") var userName: String
        @Option(help: ArgumentHelp("Read the password from the first line of this file.", valueName: "path"))
        var passwordFile: String?

        func run() throws {
            let password = try PasswordPrompt.read("Password for \(userName): ", confirm: true, file: passwordFile)
            _ = try global.call(
                "setUserPassword",
                ["userName": .string(userName), "password": .string(password)],
                superuser: true
            )
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a remote user and revoke their tokens.")
        @OptionGroup var global: GlobalOptions
        @Argument var userName: String

        func run() throws {
            _ = try global.call("deleteUser", ["userName": .string(userName)], superuser: true)
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the remote users.")
        @OptionGroup var global: GlobalOptions

        func run() throws {
            let users = try global.call("getUsers", superuser: true)
            global.output(users) {
                (users.arrayValue ?? []).compactMap { $0.objectValue?["userName"]?.stringValue }.joined(separator: "\n")
            }
        }
    }
}

/// `outpostctl token create|revoke|list`: shared tokens for remote apps (`authToken`).
struct TokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Manage shared tokens for remote apps: your own, or anyone's with --superuser.",
        subcommands: [Create.self, Revoke.self, List.self]
    )

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a token and print it: the only time it is shown."
        )
        @OptionGroup var global: GlobalOptions
        @Option(help: "The user the token signs in as (default: you; another user needs --superuser).")
        var user: String?
        @Option(help: ArgumentHelp("Lifetime: seconds, or a number with s, m, h or d (24h).", valueName: "duration"))
        var expires: String?
        @Flag(help: "The token also needs a password (asked for like `user add`).") var password = false
        @Option(help: ArgumentHelp("The token's password, from the first line of this file.", valueName: "path"))
        var passwordFile: String?
        @Option(help: "A note shown in `token list`.") var description: String?

        func validate() throws {
            if let expires, Self.seconds(expires) == nil {
                throw ValidationError("--expires '\(expires)' is not a duration such as 3600, 90m, 24h or 7d")
            }
        }

        func run() throws {
            var params: [String: JSONValue] = [:]
            if let user { params["userName"] = .string(user) }
            if let expires, let seconds = Self.seconds(expires) { params["expiresSeconds"] = .integer(seconds) }
            if let description { params["description"] = .string(description) }
            if password || passwordFile != nil {
                params["password"] = .string(
                    try PasswordPrompt.read("Password for the token: ", confirm: true, file: passwordFile)
                )
            }
            let made = try global.call("createSharedToken", .object(params), superuser: global.superuser)
            global.output(made) { made.objectValue?["token"]?.stringValue ?? "" }
        }

        static func seconds(_ text: String) -> Int64? {
            let units: [Character: Int64] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
            if let unit = text.last, let factor = units[unit], let count = Int64(text.dropLast()), count > 0 {
                return count * factor
            }
            guard let count = Int64(text), count > 0 else { return nil }
            return count
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a token by its id (see `token list`).")
        @OptionGroup var global: GlobalOptions
        @Argument var tokenId: String

        func run() throws {
            _ = try global.call("revokeSharedToken", ["tokenId": .string(tokenId)], superuser: global.superuser)
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List tokens: id, user, expiry, state.")
        @OptionGroup var global: GlobalOptions

        func run() throws {
            let tokens = try global.call("getSharedTokens", superuser: global.superuser)
            global.output(tokens) {
                (tokens.arrayValue ?? []).compactMap(\.objectValue).map { token in
                    let state =
                        token["revoked"] != nil
                        ? "revoked"
                        : (token["expires"]?.integerValue).map { $0 <= Int64(time(nil)) ? "expired" : "valid" }
                            ?? "valid"
                    let expires = token["expires"]?.integerValue.map { "expires \($0)" } ?? "never expires"
                    let id = token["tokenId"]?.stringValue ?? "?"
                    let user = token["userName"]?.stringValue ?? "?"
                    return "\(id)\t\(user)\t\(expires)\t\(state)"
                }.joined(separator: "\n")
            }
        }
    }
}

/// A secret from a file, typed on a terminal without echo, or the first line of a pipe; never an argument, which
/// every user of the machine could read in `ps`.
enum PasswordPrompt {
    static func read(_ prompt: String, confirm: Bool, file: String? = nil) throws -> String {
        if let file {
            guard let handle = fopen(file, "r") else {
                throw ValidationError("cannot read \(file): \(String(cString: strerror(errno)))")
            }
            defer { fclose(handle) }
            var buffer = [CChar](repeating: 0, count: 4096)
            guard fgets(&buffer, Int32(buffer.count), handle) != nil else { throw ValidationError("\(file) is empty") }
            var line = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            while line.hasSuffix("\n") || line.hasSuffix("\r") { line.removeLast() }
            guard !line.isEmpty else { throw ValidationError("\(file) has an empty first line") }
            return line
        }
        guard isatty(STDIN_FILENO) == 1 else {
            guard let line = readLine(strippingNewline: true), !line.isEmpty else {
                throw ValidationError("no password on stdin")
            }
            return line
        }
        let first = try readHidden(prompt)
        if confirm, try readHidden("Again: ") != first { throw ValidationError("the passwords differ") }
        return first
    }

    private static func readHidden(_ prompt: String) throws -> String {
        FileHandleStandardError.write(prompt)
        var saved = termios()
        tcgetattr(STDIN_FILENO, &saved)
        var quiet = saved
        quiet.c_lflag &= ~tcflag_t(ECHO)
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet)
        defer {
            tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved)
            FileHandleStandardError.write("\n")
        }
        guard let line = readLine(strippingNewline: true), !line.isEmpty else {
            throw ValidationError("no password given")
        }
        return line
    }
}
