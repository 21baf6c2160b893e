import OutpostCrypto
import OutpostScheduler
import Testing

@Suite struct TransferProtocolTests {
    @Test func theCapturedProbeAndUploadAreRead() throws {
        let probe = try #require(try DataServerRequest.parse(prefix: Fixtures.bytes("014-upload_body.bin")))
        #expect(probe.kind == .sizeProbe(name: "toy_wu_1_0_r0"))
        let body = Fixtures.bytes("017-upload_body.bin")
        let upload = try #require(try DataServerRequest.parse(prefix: body))
        #expect(
            upload.kind
                == .upload(name: "toy_wu_1_0_r0", nbytes: 21_118, md5: "6e55c228b670ae971f639449334a87fb", offset: 0)
        )
        let data = Array(body[upload.dataOffset...])
        #expect(data.count == 21_118)
        #expect(Hex.encode(MessageDigest.hash(.md5, data)) == "6e55c228b670ae971f639449334a87fb")
        // A header that has not fully arrived is not an error yet.
        #expect(try DataServerRequest.parse(prefix: Array(body.prefix(100))) == nil)
    }

    @Test func ourUploadHeaderIsTheClients() throws {
        let header = DataServerMessage.uploadHeader(
            name: "toy_wu_1_0_r0",
            maxNbytes: 1_000_000,
            nbytes: 21_118,
            md5: "6e55c228b670ae971f639449334a87fb",
            offset: 0
        )
        let captured = Fixtures.bytes("017-upload_body.bin")
        let capturedHeader = String(
            decoding: captured.prefix(while: { _ in true }).prefix(header.utf8.count),
            as: UTF8.self
        )
        #expect(capturedHeader == header)
    }

    @Test func capturedRepliesAreRead() throws {
        let probe = try DataServerReply(bytes: Fixtures.bytes("015-upload_reply.xml"))
        #expect(probe.outcome == .success && probe.fileSize == 0)
        #expect(try DataServerReply(bytes: Fixtures.bytes("018-upload_reply.xml")).outcome == .success)
        let permanent = try DataServerReply(bytes: Array(DataServerMessage.reply(status: -1, message: "too big").utf8))
        #expect(permanent.outcome == .permanent && permanent.message == "too big")
        let missing = try DataServerReply(bytes: Array("<data_server_reply></data_server_reply>".utf8))
        #expect(missing.outcome == .transient)
    }

    @Test func masterPagesGiveSchedulerURLs() {
        let page = MasterPage.html(projectName: "P & Q", schedulerURL: "http://127.0.0.1:9/boinc/cgi")
        #expect(MasterPage.schedulerURLs(in: page) == ["http://127.0.0.1:9/boinc/cgi"])
        let legacy = "<html>\n<!-- <scheduler>http://a/cgi</scheduler> --> <scheduler>http://b/cgi</scheduler>\n</html>"
        #expect(MasterPage.schedulerURLs(in: legacy) == ["http://a/cgi", "http://b/cgi"])
        #expect(MasterPage.schedulerURLs(in: "<html>nothing</html>").isEmpty)
    }
}

@Suite struct CodeSigningTests {
    @Test func aNewKeySignsAndVerifies() throws {
        let key = CodeSigningKey.generate()
        let md5 = Hex.encode(MessageDigest.hash(.md5, Array("#!/bin/sh\necho hi\n".utf8)))
        let signature = try key.signature(md5: md5)
        let lines = signature.split(separator: "\n")
        #expect(lines.count == 5 && lines.last == "." && lines.dropLast().allSatisfy { $0.count == 64 })
        let publicKey = try CodeSigningKey(publicKeyText: key.publicKeyText)
        #expect(publicKey.verify(signatureText: signature, md5: md5))
        #expect(!publicKey.verify(signatureText: signature, md5: String(md5.reversed())))
        #expect(!publicKey.verify(signatureText: "00\n.\n", md5: md5))
        #expect(throws: CodeSigningError.self) { try publicKey.signature(md5: md5) }
        let reloaded = try CodeSigningKey(privateKeyDER: key.privateKeyDER)
        #expect(reloaded.publicKeyText == key.publicKeyText)
        // Another project's key does not verify this project's signature.
        #expect(!CodeSigningKey.generate().verify(signatureText: signature, md5: md5))
    }

    @Test func malformedKeysAreRefused() {
        for text in [
            "", "2048\n00\n.\n", "1024\nzz\n.\n", "1024\n00\n", "1024\n" + String(repeating: "00", count: 10) + "\n.\n",
        ] {
            #expect(throws: CodeSigningError.self, "\(text)") { try CodeSigningKey(publicKeyText: text) }
        }
    }
}
