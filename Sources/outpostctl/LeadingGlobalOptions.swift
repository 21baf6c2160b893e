import ArgumentParser

/// Takes outpostctl's global options before the subcommand as well as after it (`outpostctl --socket S info`), as
/// kubectl, docker and systemctl do. ArgumentParser reads them only after the subcommand's name, so the leading ones
/// are moved there before parsing; everything else keeps its place.
enum LeadingGlobalOptions {
    /// GlobalOptions' options that take a value, and its flags.
    static let options: Set<String> = ["--socket", "--timeout", "--remote", "--token-file", "--ca-file"]
    static let flags: Set<String> = ["--json", "--superuser", "--user-server"]

    static func reorder(_ arguments: [String], root: any ParsableCommand.Type) -> [String] {
        var leading: [String] = []
        var index = arguments.startIndex
        while index < arguments.endIndex {
            let word = arguments[index]
            let name = word.split(separator: "=", maxSplits: 1).first.map(String.init) ?? word
            if flags.contains(word) || (options.contains(name) && word.contains("=")) {
                leading.append(word)
                index += 1
            } else if options.contains(word), index + 1 < arguments.endIndex {
                leading += [word, arguments[index + 1]]
                index += 2
            } else {
                break
            }
        }
        guard !leading.isEmpty else { return arguments }
        var rest = Array(arguments[index...])
        // The subcommand's path: as many words as name nested subcommands (`token create`).
        var command = root
        var depth = 0
        while depth < rest.count,
            let next = command.configuration.subcommands.first(where: { $0._commandName == rest[depth] })
        {
            command = next
            depth += 1
        }
        rest.insert(contentsOf: leading, at: depth)
        return rest
    }
}
