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
                == .upload(
                    .init(
                        name: "toy_wu_1_0_r0",
                        nbytes: 21_118,
                        md5: "6e55c228b670ae971f639449334a87fb",
                        offset: 0,
                        maxNbytes: 1_000_000,
                        xmlSignature: ""
                    )
                )
        )
        let data = Array(body[upload.dataOffset...])
        #expect(data.count == 21_118)
        #expect(Hex.encode(MessageDigest.hash(.md5, data)) == "6e55c228b670ae971f639449334a87fb")
        // A header that has not fully arrived is not an error yet.
        #expect(try DataServerRequest.parse(prefix: Array(body.prefix(100))) == nil)
    }

    @Test("the header is found however the body is cut into chunks, one byte at a time included, in linear time")
    func headerReadChunkByChunk() throws {
        let body = Fixtures.bytes("017-upload_body.bin")
        let whole = try #require(try DataServerRequest.parse(prefix: body))
        for chunkSize in [1, 2, 7, 100, body.count] {
            var reader = DataServerRequestReader()
            var found: DataServerRequest?
            var offset = 0
            while found == nil, offset < body.count {
                found = try reader.append(body[offset..<min(offset + chunkSize, body.count)])
                offset += chunkSize
            }
            #expect(found == whole, "chunks of \(chunkSize)")
        }
        // A header that never ends: refused at 64 KiB, after a time linear in its length (one byte per chunk).
        var reader = DataServerRequestReader()
        let started = ContinuousClock.now
        var refused: XMLError?
        for index in 0..<(DataServerRequestReader.maximumHeaderBytes + 10) {
            do {
                _ = try reader.append(CollectionOfOne(index == 0 ? UInt8(ascii: "<") : UInt8(ascii: "a")))
            } catch {
                refused = error
                break
            }
        }
        #expect(refused?.code == .tooLarge)
        #expect(ContinuousClock.now - started < .seconds(2))
    }

    @Test("a BOINC client's header, which echoes the certificate stripped of whitespace, is read with it")
    func certificateInTheHeader() throws {
        let header = DataServerMessage.uploadHeader(
            name: "job_1_r0",
            maxNbytes: 65_536,
            nbytes: 3,
            md5: "acbd18db4cc2f85cedef654fccc4a4d8",
            offset: 0,
            xmlSignature: "00ff"
        )
        #expect(header.contains("<xml_signature>\n00ff</xml_signature>\n"))  // as client/file_xfer.cpp writes it
        let parsed = try #require(try DataServerRequest.parse(prefix: Array((header + "foo").utf8)))
        guard case .upload(let upload) = parsed.kind else { throw XMLError(.invalidValue, "not an upload") }
        #expect(upload.xmlSignature == "00ff" && upload.maxNbytes == 65_536)
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
