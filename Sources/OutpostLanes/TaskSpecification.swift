import OutpostRPC

/// What to run: an executable with its arguments and environment, the files it needs in its slot directory before it
/// starts, the files it must leave there, and its limits. It is stored as given (JSON) with the task, so a task
/// restarted after a crash runs exactly what was submitted.
public struct TaskSpecification: Sendable, Equatable {
    /// An absolute path; it is not looked up in `PATH`, so what runs does not depend on the daemon's environment.
    public var executable: String
    public var arguments: [String]
    /// Added to the task's environment (after the daemon's own variables were scrubbed; see `TaskEnvironment`).
    public var environment: [String: String]
    /// Copied (hard-linked when possible) into the slot directory before the first start.
    public var inputFiles: [InputFile]
    /// Slot-relative paths that must exist when the task exits with status 0, or the task fails.
    public var outputFiles: [String]
    /// Limits of this task; the lane's own limits apply too, and the smaller of the two wins.
    public var limits: TaskLimits
    /// A label for people (`outpostctl status`), not interpreted.
    public var name: String?

    public struct InputFile: Sendable, Equatable {
        /// The absolute path the daemon reads.
        public var source: String
        /// The slot-relative name the task sees.
        public var name: String

        public init(source: String, name: String) {
            self.source = source
            self.name = name
        }
    }

    public init(
        executable: String,
        arguments: [String] = [],
        environment: [String: String] = [:],
        inputFiles: [InputFile] = [],
        outputFiles: [String] = [],
        limits: TaskLimits = TaskLimits(),
        name: String? = nil
    ) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.inputFiles = inputFiles
        self.outputFiles = outputFiles
        self.limits = limits
        self.name = name
    }
}

/// Per-task limits; nil means "the lane's limit".
public struct TaskLimits: Sendable, Equatable {
    /// Wall-clock seconds the task may run (paused time not counted); also its CPU-time rlimit.
    public var maxRuntimeSeconds: Int64?
    /// Resident memory of all the task's processes together, in bytes.
    public var memoryLimitBytes: Int64?

    public init(maxRuntimeSeconds: Int64? = nil, memoryLimitBytes: Int64? = nil) {
        self.maxRuntimeSeconds = maxRuntimeSeconds
        self.memoryLimitBytes = memoryLimitBytes
    }
}

/// Why a task specification was refused.
public struct TaskSpecificationError: Error, Sendable, CustomStringConvertible {
    public let description: String

    init(_ description: String) {
        self.description = description
    }
}

extension TaskSpecification {
    /// The stored and wire form: `{executable, arguments, environment, inputFiles: [{source, name}], outputFiles,
    /// limits: {maxRuntimeSeconds, memoryLimitBytes}, name}`.
    public var json: JSONValue {
        var object: [String: JSONValue] = [
            "executable": .string(executable),
            "arguments": .array(arguments.map { .string($0) }),
            "environment": .object(environment.mapValues { .string($0) }),
            "inputFiles": .array(inputFiles.map { ["source": .string($0.source), "name": .string($0.name)] }),
            "outputFiles": .array(outputFiles.map { .string($0) }),
        ]
        var limitsObject: [String: JSONValue] = [:]
        if let value = limits.maxRuntimeSeconds { limitsObject["maxRuntimeSeconds"] = .integer(value) }
        if let value = limits.memoryLimitBytes { limitsObject["memoryLimitBytes"] = .integer(value) }
        object["limits"] = .object(limitsObject)
        if let name { object["name"] = .string(name) }
        return .object(object)
    }

    /// Reads and validates a specification; every refusal says which field is wrong and why.
    public init(json: JSONValue) throws(TaskSpecificationError) {
        guard case .object(let object) = json else { throw TaskSpecificationError("a task must be a JSON object") }
        let known: Set<String> = [
            "executable", "arguments", "environment", "inputFiles", "outputFiles", "limits", "name",
        ]
        if let unknown = object.keys.sorted().first(where: { !known.contains($0) }) {
            throw TaskSpecificationError(
                "a task has no field '\(unknown)' (it has \(known.sorted().joined(separator: ", ")))"
            )
        }
        guard let executable = object["executable"]?.stringValue else {
            throw TaskSpecificationError("'executable' is required and must be a string")
        }
        guard executable.hasPrefix("/"), !executable.utf8.contains(0) else {
            throw TaskSpecificationError("'executable' must be an absolute path without NUL bytes: \(executable)")
        }
        self.init(executable: executable)
        arguments = try Self.strings(object["arguments"], field: "arguments")
        for (key, value) in try Self.stringMap(object["environment"], field: "environment") {
            guard !key.isEmpty, !key.contains("="), !key.utf8.contains(0), !value.utf8.contains(0) else {
                throw TaskSpecificationError("environment variable '\(key)' is not a valid name=value pair")
            }
            environment[key] = value
        }
        if let files = object["inputFiles"], files != .null {
            guard case .array(let elements) = files else {
                throw TaskSpecificationError("'inputFiles' must be an array of {source, name}")
            }
            for element in elements {
                guard let source = element["source"]?.stringValue, source.hasPrefix("/"),
                    let name = element["name"]?.stringValue
                else {
                    throw TaskSpecificationError("each input file needs an absolute 'source' and a 'name'")
                }
                inputFiles.append(InputFile(source: source, name: try Self.slotRelative(name, field: "inputFiles")))
            }
        }
        outputFiles = try Self.strings(object["outputFiles"], field: "outputFiles").map {
            (name) throws(TaskSpecificationError) in try Self.slotRelative(name, field: "outputFiles")
        }
        if let limitsValue = object["limits"], limitsValue != .null {
            guard case .object(let limitsObject) = limitsValue else {
                throw TaskSpecificationError("'limits' must be an object")
            }
            for key in limitsObject.keys where key != "maxRuntimeSeconds" && key != "memoryLimitBytes" {
                throw TaskSpecificationError("'limits' has no field '\(key)' (maxRuntimeSeconds, memoryLimitBytes)")
            }
            limits.maxRuntimeSeconds = try Self.positive(limitsObject["maxRuntimeSeconds"], field: "maxRuntimeSeconds")
            limits.memoryLimitBytes = try Self.positive(limitsObject["memoryLimitBytes"], field: "memoryLimitBytes")
        }
        if let nameValue = object["name"], nameValue != .null {
            guard let text = nameValue.stringValue else { throw TaskSpecificationError("'name' must be a string") }
            name = text
        }
    }

    private static func strings(_ value: JSONValue?, field: String) throws(TaskSpecificationError) -> [String] {
        guard let value, value != .null else { return [] }
        guard case .array(let elements) = value else { throw TaskSpecificationError("'\(field)' must be an array") }
        var result: [String] = []
        for element in elements {
            guard let text = element.stringValue, !text.utf8.contains(0) else {
                throw TaskSpecificationError("'\(field)' must hold strings without NUL bytes")
            }
            result.append(text)
        }
        return result
    }

    private static func stringMap(_ value: JSONValue?, field: String) throws(TaskSpecificationError) -> [String: String]
    {
        guard let value, value != .null else { return [:] }
        guard case .object(let members) = value else { throw TaskSpecificationError("'\(field)' must be an object") }
        var result: [String: String] = [:]
        for (key, member) in members {
            guard let text = member.stringValue else {
                throw TaskSpecificationError("'\(field).\(key)' must be a string")
            }
            result[key] = text
        }
        return result
    }

    private static func positive(_ value: JSONValue?, field: String) throws(TaskSpecificationError) -> Int64? {
        guard let value, value != .null else { return nil }
        guard let number = value.integerValue, number > 0 else {
            throw TaskSpecificationError("'\(field)' must be a positive integer")
        }
        return number
    }

    /// A path inside the slot: relative, no `..`, no NUL. Files are created with `openat` under the slot anyway;
    /// this rejects a hostile name with a clear message before anything runs.
    private static func slotRelative(_ name: String, field: String) throws(TaskSpecificationError) -> String {
        let components = name.split(separator: "/", omittingEmptySubsequences: true)
        guard !name.hasPrefix("/"), !name.utf8.contains(0), !components.isEmpty,
            !components.contains(where: { $0 == ".." || $0 == "." })
        else {
            throw TaskSpecificationError(
                "'\(field)' entry '\(name)' must be a relative path inside the slot, without '..'"
            )
        }
        return components.joined(separator: "/")
    }
}
