import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import OutpostRPC
import OutpostScheduler

/// The BOINC project's HTTP face — master page, scheduler, downloads, upload handler — and the admin calls that feed
/// it (files, apps, accounts, jobs).
///
/// Paths: `/boinc/` (master page), `/boinc/cgi` (scheduler), `/boinc/download/NAME`, `/boinc/file_upload_handler`
/// (the name BOINC clients recognise as an upload URL); admin calls under `/api/v1/admin/`.
struct ProjectRoutes: Sendable {
    let project: ProjectStore
    let admin: AdminAuthenticator

    static let maximumRequestBytes = 16 << 20

    func add(to router: Router<CoordinatorRequestContext>, routes: CoordinatorRoutes) {
        let project = self.project
        let master = ByteBuffer(
            string: MasterPage.html(projectName: project.settings.name, schedulerURL: project.settings.schedulerURL)
        )
        router.get("/boinc") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: master))
        }
        router.post("/boinc/cgi") { request, context -> Response in
            var request = request
            let body = try await request.collectBody(upTo: Self.maximumRequestBytes)
            let reply = await project.schedule(Array(body.readableBytesView))
            if let message = reply.messages.first, reply.requestDelay ?? 0 >= 60 {
                context.logger.warning("scheduler request refused", metadata: ["reason": "\(message.text)"])
            }
            return Self.xml(reply.xml)
        }
        router.group("/boinc/download")
            .add(middleware: FileMiddleware(project.directories.download, urlBasePath: "/boinc/download"))
            .get("**") { _, _ -> Response in throw HTTPError(.notFound) }
        router.post("/boinc/file_upload_handler") { request, context -> Response in
            await Self.dataServer(request, project: project, context: context)
        }
        addAdmin(to: router, routes: routes)
    }

    static func xml(_ text: String) -> Response {
        Response(status: .ok, headers: [.contentType: "text/xml"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// BOINC's upload handler: a size probe, or an upload whose header precedes the bytes in the same body.
    static func dataServer(
        _ request: Request,
        project: ProjectStore,
        context: CoordinatorRequestContext
    ) async -> Response {
        var header = DataServerRequestReader()
        var upload: IncomingUpload?
        var expected: (nbytes: Int64, md5: String?)?
        do {
            for try await chunk in request.body {
                if let upload {
                    try chunk.withUnsafeReadableBytes { try upload.append($0) }
                    continue
                }
                guard let parsed = try header.append(chunk.readableBytesView) else { continue }
                switch parsed.kind {
                case .sizeProbe(let name):
                    return xml(DataServerMessage.reply(status: 0, fileSize: project.uploadedSize(name)))
                case .upload(let request):
                    let opened = try await project.beginUpload(request)
                    try header.received[parsed.dataOffset...].withUnsafeBytes { try opened.append($0) }
                    upload = opened
                    expected = (request.nbytes, request.md5)
                    header = DataServerRequestReader()
                }
            }
            guard let upload, let expected else {
                return xml(DataServerMessage.reply(status: -1, message: "the request ended before its header did"))
            }
            try project.finishUpload(upload, nbytes: expected.nbytes, md5: expected.md5)
            return xml(DataServerMessage.reply(status: 0))
        } catch let error as RegistryError {
            // Refusals (no such result, too large, a wrong MD5) are permanent; the rest (a short body, a full disk)
            // are transient and the client retries.
            let permanent = error.code == .forbidden || error.code == .invalid
            context.logger.warning("upload refused", metadata: ["reason": "\(error.message)"])
            return xml(DataServerMessage.reply(status: permanent ? -1 : 1, message: error.message))
        } catch let error as XMLError {
            return xml(DataServerMessage.reply(status: -1, message: error.message))
        } catch {
            context.logger.warning("upload interrupted", metadata: ["error": "\(error)"])
            return xml(DataServerMessage.reply(status: 1, message: "the upload was interrupted; retry"))
        }
    }
}
