import OutpostCrypto
import OutpostScheduler
import Testing

/// The captures of the real BOINC client, replayed through our codec.
@Suite struct FixtureReplayTests {
    @Test func everyCapturedReplyParses() throws {
        for name in Fixtures.replies {
            let reply = try SchedulerReply(bytes: Fixtures.bytes(name))
            #expect(reply.projectName == "Fake Loopback Project", "\(name)")
            #expect(reply.requestDelay != nil, "\(name)")
        }
    }

    @Test func theFirstContactReplyCarriesHostIDAndMessage() throws {
        let reply = try SchedulerReply(bytes: Fixtures.bytes("004-rpc1_scheduler_reply.xml"))
        #expect(reply.hostID == 1)
        #expect(reply.requestDelay == 7)
        #expect(reply.userName == "tester")
        #expect(reply.messages == [.init("hello from fake project", priority: "low")])
    }

    @Test func theJobReplyDescribesTheWholeJob() throws {
        let reply = try SchedulerReply(bytes: Fixtures.bytes("007-rpc2_scheduler_reply.xml"))
        #expect(reply.apps == [AppDescription(name: "toyapp", userFriendlyName: "Toy app")])
        #expect(reply.fileInfos.map(\.name) == ["toyapp_1.sh", "toy_in_1.txt", "toy_wu_1_0_r0"])
        let app = reply.fileInfos[0]
        #expect(app.executable && app.nbytes == 327 && app.fileSignature != nil)
        #expect(app.downloadURLs == ["http://127.0.0.1:18377/download/toyapp_1.sh"])
        #expect(reply.fileInfos[1].md5 == "c57d9dca7268a06b79881a968c7ba61a")
        let output = reply.fileInfos[2]
        #expect(output.uploadURLs == ["http://127.0.0.1:18377/file_upload_handler"] && output.downloadURLs.isEmpty)
        #expect(output.maxNbytes == 1_000_000)
        #expect(reply.appVersions.first?.files == [FileReference(fileName: "toyapp_1.sh", mainProgram: true)])
        #expect(reply.appVersions.first?.versionNum == 100 && reply.appVersions.first?.flops == 1e9)
        let workunit = try #require(reply.workunits.first)
        #expect(workunit.rscFpopsBound == 1e12 && workunit.rscMemoryBound == 1e8)
        #expect(workunit.files == [FileReference(fileName: "toy_in_1.txt", openName: "in.txt", copyFile: true)])
        let result = try #require(reply.results.first)
        #expect(result.name == "toy_wu_1_0" && result.workunitName == "toy_wu_1")
        #expect(result.reportDeadline == 1_795_543_092)
        #expect(result.files.first?.slotName == "out.txt")
    }

    @Test func theReportReplyAcknowledges() throws {
        let reply = try SchedulerReply(bytes: Fixtures.bytes("021-rpc4_scheduler_reply.xml"))
        #expect(reply.resultAcks == ["toy_wu_1_0"])
    }

    /// The project's real signature of the real app, as the real client accepted it.
    @Test func theCapturedCodeSignatureVerifies() throws {
        let reply = try SchedulerReply(bytes: Fixtures.bytes("007-rpc2_scheduler_reply.xml"))
        let key = try CodeSigningKey(publicKeyText: try #require(reply.codeSignKey))
        let app = Fixtures.bytes("download/toyapp_1.sh")
        let md5 = Hex.encode(MessageDigest.hash(.md5, app))
        let signature = try #require(reply.fileInfos[0].fileSignature)
        #expect(key.verify(signatureText: signature, md5: md5))
        var tampered = app
        tampered[tampered.count - 2] ^= 1
        #expect(!key.verify(signatureText: signature, md5: Hex.encode(MessageDigest.hash(.md5, tampered))))
        // Our text form of the key is the project's, byte for byte (after BOINC's line layout).
        #expect(key.publicKeyText == String(reply.codeSignKey!.drop { $0 == "\n" }))
    }

    @Test func everyCapturedRequestParses() throws {
        for name in Fixtures.requests {
            let request = try SchedulerRequest(bytes: Fixtures.bytes(name))
            #expect(request.authenticator == "fake_auth_0123456789abcdef", "\(name)")
            #expect(request.platformName == "x86_64-pc-linux-gnu")
            #expect(request.host.processors == 2 && request.host.floatingPointOpsPerSecond == 1e9)
        }
        let report = try SchedulerRequest(bytes: Fixtures.bytes("020-rpc4_scheduler_request.xml"))
        let result = try #require(report.results.first)
        #expect(result.name == "toy_wu_1_0" && result.exitStatus == 0 && result.state == 5)
        #expect(result.stderr.hasPrefix("toyapp starting in /var/lib/boinc-client/slots/0"))
        #expect(
            result.outputs == [
                .init(
                    name: "toy_wu_1_0_r0",
                    nbytes: 21_118,
                    maxNbytes: 1_000_000,
                    md5: "6e55c228b670ae971f639449334a87fb",
                    uploadURL: "http://127.0.0.1:18377/file_upload_handler"
                )
            ]
        )
        let running = try SchedulerRequest(bytes: Fixtures.bytes("011-rpc3_scheduler_request.xml"))
        #expect(running.otherResults == [.init(name: "toy_wu_1_0", appVersionIndex: 0)])
        #expect(running.workRequestSeconds > 0 || running.cpuRequestInstances >= 0)
    }

    /// Every element path the real client wrote appears in ours (a request that reports a result, holds an app version
    /// and a running job, as in rpc4 and rpc3).
    @Test func ourRequestsContainEveryElementTheRealClientSent() throws {
        var request = SchedulerRequest(authenticator: "abc")
        request.codeSignKey = "1024\nab\n.\n"
        request.results = [
            ReportedResult(
                name: "r",
                platform: "x86_64-pc-linux-gnu",
                versionNum: 1,
                stderr: "oops",
                outputs: [.init(name: "r_0", nbytes: 1, maxNbytes: 2, md5: "x", uploadURL: "http://u")]
            )
        ]
        request.appVersions = [.init(appName: "a", versionNum: 1, platform: "x86_64-pc-linux-gnu")]
        request.otherResults = [.init(name: "q", appVersionIndex: 0)]
        let ours = ElementPaths.of(try XMLReader().read(request.xml))
        for name in Fixtures.requests {
            let theirs = ElementPaths.of(try XMLReader().read(Fixtures.bytes(name)))
            // The captured project sent no code_sign_key until rpc2; ours always can.
            let missing = theirs.subtracting(ours)
            #expect(missing.isEmpty, "\(name): our request lacks \(missing.sorted())")
        }
        // And ours reads back as what we meant.
        let readBack = try SchedulerRequest(bytes: Array(request.xml.utf8))
        #expect(readBack.results == request.results)
        #expect(readBack.otherResults == request.otherResults)
        #expect(readBack.appVersions == request.appVersions)
        #expect(readBack.codeSignKey == "\n1024\nab\n.\n")
    }

    @Test func aReplyWeWriteReadsBackTheSame() throws {
        let captured = try SchedulerReply(bytes: Fixtures.bytes("007-rpc2_scheduler_reply.xml"))
        var reply = captured
        reply.resultAcks = ["a", "b"]
        reply.resultAborts = ["c"]
        reply.messages.append(.init("stop now & <here>", priority: "high"))
        reply.redirects = ["http://127.0.0.1:1/cgi"]
        reply.nextRPCDelay = 30
        let readBack = try SchedulerReply(bytes: Array(reply.xml.utf8))
        #expect(readBack.fileInfos == reply.fileInfos)
        #expect(readBack.codeSignKey == reply.codeSignKey)
        #expect(readBack.workunits == reply.workunits && readBack.results == reply.results)
        #expect(readBack.appVersions == reply.appVersions && readBack.apps == reply.apps)
        #expect(readBack.resultAcks == ["a", "b"] && readBack.resultAborts == ["c"])
        #expect(readBack.messages.last == .init("stop now & <here>", priority: "high"))
        #expect(readBack.redirects == reply.redirects && readBack.nextRPCDelay == 30)
    }
}

/// `a/b/c` paths of every element in a document.
enum ElementPaths {
    static func of(_ root: XMLElement) -> Set<String> {
        var paths: Set<String> = []
        func visit(_ element: XMLElement, _ prefix: String) {
            let path = prefix.isEmpty ? element.name : "\(prefix)/\(element.name)"
            paths.insert(path)
            for child in element.children { visit(child, path) }
        }
        visit(root, "")
        return paths
    }
}
