import HTTPTypes
import Hummingbird
import NIOCore
import OutpostRPC

/// The project's admin calls: store a file, add an app version, make an account, submit jobs, read results.
extension ProjectRoutes {
    static let maximumFileBytes: Int64 = 1 << 40

    func addAdmin(to router: Router<CoordinatorRequestContext>, routes: CoordinatorRoutes) {
        let project = self.project
        let admin = self.admin
        router.put("/api/v1/admin/files/:name") { request, context -> Response in
            do {
                try await admin.authenticate(request, context)
                let name = context.parameters.get("name") ?? ""
                let handle = try project.stagingFile(for: name, limit: Self.maximumFileBytes)
                for try await chunk in request.body {
                    try chunk.withUnsafeReadableBytes { try handle.append($0) }
                }
                return JSONExchange.respond(try await project.commitFile(handle))
            } catch {
                return JSONExchange.failure(error, logger: context.logger)
            }
        }
        router.get("/api/v1/admin/outputs/:name") { request, context -> Response in
            do {
                try await admin.authenticate(request, context)
                let path = try project.outputPath(context.parameters.get("name") ?? "")
                let body = try await FileIO().loadFile(path: path, context: context)
                return Response(status: .ok, headers: [.contentType: "application/octet-stream"], body: body)
            } catch {
                return JSONExchange.failure(error, logger: context.logger)
            }
        }
        routes.adminCall(router, "app_add", allowed: ["name", "platform", "version", "files"]) { params in
            var files: [(name: String, openName: String?, main: Bool)] = []
            for file in try params.optionalArray("files") ?? [] {
                guard let name = file["name"]?.stringValue else {
                    throw RegistryError(.invalid, "each file needs a 'name' (a stored file)")
                }
                files.append((name, file["open_name"]?.stringValue, file["main"]?.boolValue ?? false))
            }
            return try await project.addApp(
                name: try params.string("name"),
                platform: try params.optionalString("platform") ?? "x86_64-pc-linux-gnu",
                versionNum: try params.optionalInteger("version", in: 1...1_000_000_000),
                files: files
            )
        }
        routes.adminCall(router, "account_create", allowed: ["name"]) { params in
            let name = try params.string("name")
            return ["name": .string(name), "authenticator": .string(try await project.createAccount(name: name))]
        }
        let submitParameters: Set<String> = [
            "app", "inputs", "outputs", "count", "command_line", "fpops_est", "deadline_seconds", "max_attempts",
            "max_output_bytes",
        ]
        routes.adminCall(router, "submit", allowed: submitParameters) { params in
            var inputs: [(file: String, openName: String)] = []
            for input in try params.optionalArray("inputs") ?? [] {
                guard let file = input["file"]?.stringValue else {
                    throw RegistryError(.invalid, "each input needs a 'file' (a stored file) and an 'open_name'")
                }
                inputs.append((file, input["open_name"]?.stringValue ?? file))
            }
            var job = ProjectStore.JobRequest(app: try params.string("app"), inputs: inputs)
            if let outputs = try params.optionalArray("outputs") { job.outputs = outputs.compactMap(\.stringValue) }
            job.count = Int(try params.optionalInteger("count", in: 1...100_000) ?? 1)
            job.commandLine = try params.optionalString("command_line") ?? ""
            job.fpopsEstimate = try params.optionalDouble("fpops_est", in: 1...1e20) ?? job.fpopsEstimate
            job.deadlineSeconds = try params.optionalDouble("deadline_seconds", in: 1...(366 * 86_400))
            job.maximumAttempts = try params.optionalInteger("max_attempts", in: 1...100).map(Int.init)
            job.maximumOutputBytes =
                try params.optionalDouble("max_output_bytes", in: 1...1e13) ?? job.maximumOutputBytes
            let ids = try await project.submit(job)
            return ["jobs": .array(ids.map { .integer($0) })]
        }
        routes.adminCall(router, "jobs", allowed: ["state", "id", "limit"]) { params in
            try await project.jobs(
                state: try params.optionalString("state"),
                jobID: try params.optionalInteger("id"),
                limit: Int(try params.optionalInteger("limit", in: 1...100_000) ?? 1000)
            )
        }
        routes.adminCall(router, "job_summary", allowed: []) { _ in try await project.jobSummary() }
        routes.adminCall(router, "job_cancel", allowed: ["ids"]) { params in
            let ids = try (params.optionalArray("ids") ?? []).map { value in
                guard let id = value.integerValue else {
                    throw RegistryError(.invalid, "'ids' holds job ids (integers)")
                }
                return id
            }
            return try await project.cancel(jobIDs: ids)
        }
    }
}
