/// How the coordinator serves as a BOINC project: its name, its URLs, and its scheduling rules.
public struct ProjectSettings: Sendable, Equatable {
    public var name = "Outpost"
    /// The coordinator's own URL (`http://127.0.0.1:8470`); the project's URLs hang below `/boinc/`.
    public var baseURL: String
    /// The least seconds between two RPCs of one host (`request_delay` in every reply).
    public var requestDelaySeconds: Double = 1
    /// A host holding results in progress contacts the project again within this many seconds (`next_rpc_delay`),
    /// so that aborts of cancelled jobs reach it; 0 sends none.
    public var nextRPCDelaySeconds: Double = 600
    /// At most this many results in progress per processor of a host.
    public var maximumInProgressPerProcessor = 2
    /// Report deadline of a job when `submit` gives none.
    public var defaultDeadlineSeconds: Double = 86_400
    /// Attempts (results) a job gets before it fails, when `submit` gives none.
    public var defaultMaximumAttempts = 3

    public init(baseURL: String) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
    }

    public var masterURL: String { "\(baseURL)/boinc/" }
    public var schedulerURL: String { "\(baseURL)/boinc/cgi" }
    public var uploadURL: String { "\(baseURL)/boinc/file_upload_handler" }
    public func downloadURL(_ name: String) -> String { "\(baseURL)/boinc/download/\(name)" }
}

/// Where the project keeps its files, under the coordinator's state directory.
public struct ProjectDirectories: Sendable {
    public let root: String

    public init(stateDirectory: String) {
        root = stateDirectory + "/project"
    }

    /// Files clients download: app files and job inputs, immutable once stored.
    public var download: String { root + "/download" }
    /// Outputs clients upload, one file per result output.
    public var upload: String { root + "/upload" }
    /// Files being stored (admin uploads) before they are complete and renamed into `download`.
    public var staging: String { root + "/staging" }
    /// The project's code-signing key (DER, mode 0600).
    public var signingKey: String { root + "/code_sign_private.der" }
    /// The key of the outputs' upload certificates (mode 0600).
    public var uploadKey: String { root + "/upload_key" }
}
