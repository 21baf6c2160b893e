import AsyncHTTPClient
import Foundation
import NIOCore
import OutpostScheduler
import OutpostTransfers

/// Transfer benchmarks: a BOINC client's view of outpost-coordinator's project, through the node's own
/// `FileTransfers` (so the figures are what outpostd gets), for Benchmarks/transfers.sh to set beside curl.
enum TransferBench {
    /// One scheduler RPC as a host with `processors` CPUs; prints one line per result:
    /// `INPUT_URL INPUT_NAME NBYTES MD5 UPLOAD_URL OUTPUT_NAME MAX_NBYTES` (the workunit's largest input).
    static func jobs(schedulerURL: String, authenticator: String, processors: Int) async throws {
        var request = SchedulerRequest(authenticator: authenticator)
        request.host.processors = Int64(processors)
        request.workRequestSeconds = 1
        request.cpuRequestSeconds = 1
        request.cpuRequestInstances = Double(processors)
        var http = HTTPClientRequest(url: schedulerURL)
        http.method = .POST
        http.body = .bytes(ByteBuffer(string: request.xml))
        let response = try await HTTPClient.shared.execute(http, timeout: .seconds(60))
        let body = try await response.body.collect(upTo: 16 << 20)
        let reply = try SchedulerReply(bytes: Array(body.readableBytesView))
        for result in reply.results {
            guard let workunit = reply.workunits.first(where: { $0.name == result.workunitName }) else { continue }
            let inputNames = Set(workunit.files.map(\.fileName))
            let input = reply.fileInfos.filter { inputNames.contains($0.name) }.max {
                ($0.nbytes ?? 0) < ($1.nbytes ?? 0)
            }
            guard let input, let output = reply.fileInfos.first(where: { $0.name == result.files.first?.fileName })
            else { throw BenchError("result \(result.name) lacks an input or output") }
            print(
                input.downloadURLs[0],
                input.name,
                Int64(input.nbytes ?? 0),
                input.md5 ?? "-",
                output.uploadURLs[0],
                output.name,
                Int64(output.maxNbytes ?? 0)
            )
        }
    }

    static func limiter(rate: Double?, direction: TransferDirection) -> BandwidthLimiter {
        var limits = BandwidthLimits()
        if let rate {
            switch direction {
            case .incoming:
                limits.incomingLimitActive = true
                limits.incomingRateLimit = rate
            case .outgoing:
                limits.outgoingLimitActive = true
                limits.outgoingRateLimit = rate
            }
        }
        return BandwidthLimiter(limits)
    }

    /// Downloads and verifies (size, MD5) a file as outpostd does; prints the seconds it took.
    static func download(
        url: String,
        name: String,
        nbytes: Double,
        md5: String,
        directory: String,
        rate: Double?
    )
        async throws
    {
        let transfers = FileTransfers(client: HTTPClient.shared, limiter: limiter(rate: rate, direction: .incoming))
        let info = FileInfo(name: name, downloadURLs: [url], md5: md5, nbytes: nbytes)
        let start = Date()
        try await transfers.download(info, into: directory, signingKey: nil)
        print(String(format: "%.3f", Date().timeIntervalSince(start)))
    }

    /// Uploads a file as outpostd does (MD5, size probe, BOINC framing); prints the seconds it took.
    static func upload(url: String, name: String, maxNbytes: Double, path: String, rate: Double?) async throws {
        let transfers = FileTransfers(client: HTTPClient.shared, limiter: limiter(rate: rate, direction: .outgoing))
        let start = Date()
        _ = try await transfers.upload(path: path, name: name, maxNbytes: maxNbytes, xmlSignature: "", url: url)
        print(String(format: "%.3f", Date().timeIntervalSince(start)))
    }
}
