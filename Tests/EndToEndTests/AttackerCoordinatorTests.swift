import OutpostRPC
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The coordinator's BOINC project attacked as it was found: forged and truncated uploads by an unauthenticated
/// client, an upload header dribbled one byte per chunk, a scheduler request with a flood of reports, and a disabled
/// node that keeps asking for work.
@Suite("security: the BOINC project under attack (real coordinator, curl)", .serialized)
struct AttackerCoordinatorTests {
    /// POSTs `body` to `path`; the reply's text.
    static func post(_ coordinator: Coordinator, _ path: String, _ body: [UInt8]) throws -> String {
        let file = coordinator.directory.file("body-\(UInt32.random(in: 0...UInt32.max))")
        try body.withUnsafeBytes { try writeBytes(file, $0) }
        let child = try ChildProcess(
            "/usr/bin/curl",
            [
                "-sS", "--max-time", "120", "-H", "Content-Type: application/x-www-form-urlencoded",
                "--data-binary", "@\(file)", coordinator.url + path,
            ],
            environment: ["PATH": "/usr/bin:/bin"],
            directory: coordinator.directory
        )
        _ = try child.waitForExit(timeout: .seconds(150))
        unlink(file)
        return child.standardOutput
    }

    static func schedulerRequest(
        authenticator: String,
        hostID: String = "0",
        workSeconds: Double,
        results: String = ""
    ) -> String {
        """
        <scheduler_request>
        <authenticator>\(authenticator)</authenticator>
        <hostid>\(hostID)</hostid>
        <core_client_major_version>7</core_client_major_version>
        <core_client_minor_version>20</core_client_minor_version>
        <core_client_release>5</core_client_release>
        <work_req_seconds>\(workSeconds)</work_req_seconds>
        <cpu_req_instances>\(workSeconds > 0 ? 1 : 0)</cpu_req_instances>
        <platform_name>x86_64-pc-linux-gnu</platform_name>
        <host_info><p_ncpus>1</p_ncpus><p_fpops>1000000000</p_fpops><domain_name>test-host</domain_name></host_info>
        \(results)
        </scheduler_request>
        """
    }

    /// The text of the first `<tag>` inside the part of `text` that starts at `after`.
    static func element(_ tag: String, in text: String, after anchor: String = "") -> String? {
        guard let from = anchor.isEmpty ? text.startIndex : text.firstRange(of: anchor)?.upperBound,
            let open = text[from...].firstRange(of: "<\(tag)>"),
            let close = text[open.upperBound...].firstRange(of: "</\(tag)>")
        else { return nil }
        return String(text[open.upperBound..<close.lowerBound].filter { !$0.isWhitespace })
    }

    static func uploadBody(
        name: String,
        signature: String,
        maxNbytes: String,
        data: [UInt8],
        offset: Int = 0,
        nbytes: Int? = nil
    ) -> [UInt8] {
        let header = """
            <data_server_request>
            <core_client_major_version>7</core_client_major_version>
            <file_upload>
            <file_info>
            <name>\(name)</name>
            <xml_signature>
            \(signature)</xml_signature>
            <max_nbytes>\(maxNbytes)</max_nbytes>
            </file_info>
            <nbytes>\(nbytes ?? data.count)</nbytes>
            <md5_cksum>\(md5(data))</md5_cksum>
            <offset>\(offset)</offset>
            <data>

            """
        return Array(header.utf8) + data[offset...]
    }

    static func md5(_ data: [UInt8]) -> String {
        // md5sum of the bytes, through the real tool.
        let directory = try? TemporaryDirectory()
        guard let directory else { return "" }
        let file = directory.file("data")
        try? data.withUnsafeBytes { try writeBytes(file, $0) }
        let child = try? ChildProcess("/usr/bin/md5sum", [file], environment: [:], directory: directory)
        _ = try? child?.waitForExit(timeout: .seconds(10))
        return String(child?.standardOutput.prefix(32) ?? "")
    }

    /// A project with one job, and a host (this test, with an account's authenticator) holding its result.
    static func projectWithHeldResult() throws -> (Coordinator, authenticator: String, reply: String) {
        let coordinator = try Coordinator(checkinInterval: 1, offlineGrace: 30, extra: Coordinator.projectSettings)
        try coordinator.addApp()
        try coordinator.submit(input: "hello\n", count: 1)
        let account = try coordinator.cli(["account", "create", "host-owner"])
        let authenticator = String(account.output.split(whereSeparator: \.isWhitespace).first ?? "")
        #expect(account.status == 0 && !authenticator.isEmpty, "\(account.error)")
        let reply = try post(
            coordinator,
            "/boinc/cgi",
            Array(schedulerRequest(authenticator: authenticator, workSeconds: 100).utf8)
        )
        return (coordinator, authenticator, reply)
    }

    @Test("an unauthenticated upload cannot replace or truncate a host's output; the job ends with the host's bytes")
    func forgedUploads() throws {
        let (coordinator, authenticator, reply) = try Self.projectWithHeldResult()
        let resultName = try #require(Self.element("name", in: reply, after: "<result>"), "\(reply)")
        let output = resultName + "_r0"
        let signature = try #require(Self.element("xml_signature", in: reply, after: "<name>\(output)</name>"))
        let maxNbytes = try #require(Self.element("max_nbytes", in: reply, after: "<name>\(output)</name>"))
        #expect(!signature.isEmpty)
        let uploaded = coordinator.directory.file("state/project/upload/\(output)")

        // The host uploads its output with the certificate it was given.
        let hostBytes = Array("HELLO FROM THE HOST\n".utf8)
        let accepted = try Self.post(
            coordinator,
            "/boinc/file_upload_handler",
            Self.uploadBody(name: output, signature: signature, maxNbytes: maxNbytes, data: hostBytes)
        )
        #expect(accepted.contains("<status>0</status>"), "\(accepted)")

        // The attacker, with no credentials: no certificate, a made-up one, another name's, a truncation at 0.
        let attackerBytes = Array("forged by someone else\n".utf8)
        for forged in ["", "00", String(repeating: "ab", count: 32), signature.uppercased() + "00"] {
            let refused = try Self.post(
                coordinator,
                "/boinc/file_upload_handler",
                Self.uploadBody(name: output, signature: forged, maxNbytes: maxNbytes, data: attackerBytes)
            )
            #expect(refused.contains("<status>-1</status>"), "\(refused)")
        }
        let truncation = try Self.post(
            coordinator,
            "/boinc/file_upload_handler",
            Self.uploadBody(name: output, signature: "", maxNbytes: maxNbytes, data: [], nbytes: 0)
        )
        #expect(truncation.contains("<status>-1</status>"))
        #expect(try readFile(uploaded) == "HELLO FROM THE HOST\n")

        // The host reports; the job is done with its bytes.
        let report = """
            <result>
            <name>\(resultName)</name>
            <final_cpu_time>1</final_cpu_time>
            <final_elapsed_time>1</final_elapsed_time>
            <exit_status>0</exit_status>
            <state>5</state>
            <platform>x86_64-pc-linux-gnu</platform>
            <file_info><name>\(output)</name><nbytes>\(hostBytes.count)</nbytes><md5_cksum>\(Self.md5(hostBytes))</md5_cksum></file_info>
            </result>
            """
        let reported = try Self.post(
            coordinator,
            "/boinc/cgi",
            Array(
                Self.schedulerRequest(
                    authenticator: authenticator,
                    hostID: Self.element("hostid", in: reply) ?? "0",
                    workSeconds: 0,
                    results: report
                ).utf8
            )
        )
        #expect(reported.contains("<result_ack>"), "\(reported)")
        let job = try #require(try coordinator.jobs().first)
        #expect(job["state"] == "done", "\(job)")
        let path = try #require(job["results"]?.arrayValue?.first?["outputs"]?.arrayValue?.first?["path"]?.stringValue)
        #expect(try readFile(path) == "HELLO FROM THE HOST\n")
    }

    /// CPU seconds (user and system) the process has used.
    static func cpuSeconds(_ pid: pid_t) throws -> Double {
        let fields = try readFile("/proc/\(pid)/stat").split(separator: ")").last!.split(separator: " ")
        // After the command: state is field 3, utime 14 and stime 15 (1-based over the whole line).
        return (Double(fields[11])! + Double(fields[12])!) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    @Test("upload headers sent one byte per chunk on four connections cost little CPU; health answers throughout")
    func dribbledHeaders() async throws {
        let coordinator = try Coordinator(checkinInterval: 1, offlineGrace: 30, extra: Coordinator.projectSettings)
        let pid = try #require(coordinator.process?.pid)
        let before = try Self.cpuSeconds(pid)
        // 20,000 one-byte chunks (120 KB on the wire), never reaching <data>, on each of four connections.
        var request = Array(
            "POST /boinc/file_upload_handler HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n".utf8
        )
        request += Array("<data_server_request><file_upload><file_info><name>x</name>".utf8).flatMap {
            Array("1\r\n".utf8) + [$0] + Array("\r\n".utf8)
        }
        for _ in 0..<20_000 { request += Array("1\r\na\r\n".utf8) }
        request += Array("0\r\n\r\n".utf8)
        let port = coordinator.port
        let sent = request
        async let senders: [String] = withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<4 { group.addTask { try Self.sendRaw(sent, port: port) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        // Health answers quickly while they are sent.
        var slowest = Duration.zero
        for _ in 0..<10 {
            let started = ContinuousClock.now
            let health = try await Self.health(coordinator)
            slowest = max(slowest, ContinuousClock.now - started)
            #expect(health.contains("ok"))
            try await Task.sleep(for: .milliseconds(200))
        }
        let replies = try await senders
        #expect(replies.count == 4)
        for reply in replies { #expect(reply.contains("<status>-1</status>"), "\(reply.suffix(300))") }
        #expect(slowest < .seconds(2), "health took \(slowest)")
        let used = try Self.cpuSeconds(pid) - before
        #expect(used < 10, "the coordinator used \(used) s of CPU")
    }

    static func health(_ coordinator: Coordinator) async throws -> String {
        let child = try ChildProcess(
            "/usr/bin/curl",
            ["-sS", "--max-time", "30", coordinator.url + "/api/v1/health"],
            environment: ["PATH": "/usr/bin:/bin"],
            directory: coordinator.directory
        )
        _ = try child.waitForExit(timeout: .seconds(40))
        return child.standardOutput
    }

    /// Writes `bytes` to a TCP connection in pieces of one HTTP chunk each and returns what comes back.
    static func sendRaw(_ bytes: [UInt8], port: Int) throws -> String {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { throw TestFailure("cannot connect to the coordinator") }
        var offset = 0
        while offset < bytes.count {
            // About one chunk per write, so the server reads them one by one.
            let count = min(6, bytes.count - offset)
            let written = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + offset, count, Int32(MSG_NOSIGNAL)) }
            guard written > 0 else { break }
            offset += written
        }
        var reply: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        var timeout = timeval(tv_sec: 60, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        while !String(decoding: reply, as: UTF8.self).contains("</data_server_reply>") {
            let count = recv(fd, &buffer, buffer.count, 0)
            guard count > 0 else { break }
            reply += buffer[0..<count]
        }
        return String(decoding: reply, as: UTF8.self)
    }

    @Test("a scheduler request with 200,000 reports holds the database briefly: others are served meanwhile")
    func reportFlood() async throws {
        let (coordinator, authenticator, _) = try Self.projectWithHeldResult()
        let other = try coordinator.cli(["account", "create", "bystander"])
        let bystander = String(other.output.split(whereSeparator: \.isWhitespace).first ?? "")
        var reports = ""
        reports.reserveCapacity(200_000 * 40)
        for index in 0..<200_000 {
            reports += "<result><name>forged_\(index)</name><state>5</state></result>\n"
        }
        let flood = Array(Self.schedulerRequest(authenticator: authenticator, workSeconds: 0, results: reports).utf8)
        let request = coordinator
        async let flooded = Task.detached { try Self.post(request, "/boinc/cgi", flood) }.value
        // Meanwhile another host's scheduler RPCs are answered within a few seconds each.
        var slowest = Duration.zero
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            let started = ContinuousClock.now
            let answer = try Self.post(
                coordinator,
                "/boinc/cgi",
                Array(Self.schedulerRequest(authenticator: bystander, workSeconds: 0).utf8)
            )
            slowest = max(slowest, ContinuousClock.now - started)
            #expect(answer.contains("<scheduler_reply>"))
            try await Task.sleep(for: .milliseconds(250))
        }
        let reply = try await flooded
        let acks = reply.ranges(of: "<result_ack>").count
        #expect(acks > 0 && acks <= 1_000, "\(acks) acks")
        #expect(slowest < .seconds(5), "a bystander's RPC took \(slowest)")
    }

    @Test("a disabled node gets no new work from the scheduler, even when it ignores the flag")
    func disabledNodeGetsNoWork() throws {
        let coordinator = try Coordinator(checkinInterval: 1, offlineGrace: 30, extra: Coordinator.projectSettings)
        try coordinator.addApp()
        try coordinator.submit(input: "hello\n", count: 3)
        let (_, tokenFile) = try coordinator.token()
        // A real node enrolls, then stops: its credentials are what a node that ignores the flag would send.
        let daemon = try Daemon(
            config: """
                [coordinator]
                url = "\(coordinator.url)"
                checkin_interval = 1
                enrollment_token_file = "\(tokenFile)"
                """
        )
        let credentialsPath = daemon.stateDirectory + "/coordinator.json"
        #expect(try eventually(timeout: .seconds(30)) { fileExists(credentialsPath) })
        try daemon.stop()
        let credentials = try JSONCoding.parse(Array(try readFile(credentialsPath).utf8))
        let id = try #require(credentials["clientId"]?.stringValue)
        let secret = try #require(credentials["secret"]?.stringValue)
        #expect(try coordinator.cli(["clients", "disable", id]).status == 0)

        let refused = try Self.post(
            coordinator,
            "/boinc/cgi",
            Array(Self.schedulerRequest(authenticator: "\(id).\(secret)", workSeconds: 1000).utf8)
        )
        #expect(refused.contains("<scheduler_reply>") && !refused.contains("<result>"), "\(refused)")
        #expect(refused.contains("disabled"))
        #expect(try coordinator.jobs().allSatisfy { $0["state"] == "queued" })

        #expect(try coordinator.cli(["clients", "enable", id]).status == 0)
        let served = try Self.post(
            coordinator,
            "/boinc/cgi",
            Array(Self.schedulerRequest(authenticator: "\(id).\(secret)", workSeconds: 1000).utf8)
        )
        #expect(served.contains("<result>"), "\(served)")
    }
}
