import OutpostScheduler
import Testing

/// Hostile and odd XML: refused with a clear error, or read the way BOINC reads it.
@Suite struct XMLSafetyTests {
    let reader = XMLReader()

    @Test(arguments: [
        "<!DOCTYPE r [<!ENTITY a \"aaaa\">]><scheduler_reply>&a;</scheduler_reply>",
        "<scheduler_reply><!ENTITY x SYSTEM \"file:///etc/passwd\"></scheduler_reply>",
        "<?xml version=\"1.0\"?>\n<!doctype scheduler_reply><scheduler_reply/>",
    ])
    func declarationsAreRefused(document: String) {
        #expect(throws: XMLError.self) { try reader.read(document) }
        do {
            _ = try reader.read(document)
        } catch {
            #expect(error.code == .declaration)
        }
    }

    @Test func aDeclarationInsideCDATAIsJustText() throws {
        let element = try reader.read("<a><![CDATA[<!DOCTYPE html> & <b>]]></a>")
        #expect(element.text == "<!DOCTYPE html> & <b>")
    }

    @Test func sizeAndDepthAreCapped() {
        let small = XMLReader(limits: .init(maximumBytes: 100, maximumDepth: 4))
        #expect(throws: XMLError(.tooLarge, "the document is 200 bytes; at most 100 are read")) {
            try small.read(String(repeating: " ", count: 200))
        }
        let deep = String(repeating: "<a>", count: 5) + String(repeating: "</a>", count: 5)
        #expect(throws: XMLError.self) { try small.read(deep) }
        // A million nested tags fail at the cap, without recursion.
        let hostile = String(repeating: "<a>", count: 1_000_000)
        #expect(throws: XMLError.self) { try XMLReader(limits: .init(maximumBytes: 4 << 20)).read(hostile) }
    }

    @Test(arguments: [
        "<scheduler_reply><request_delay>5</request_delay>",
        "<scheduler_reply><a></b></scheduler_reply>",
        "<scheduler_reply><a",
        "</scheduler_reply>",
        "just text",
        "",
        "<scheduler_reply><!-- not closed </scheduler_reply>",
    ])
    func malformedDocumentsAreErrors(document: String) {
        #expect(throws: XMLError.self) { try SchedulerReply(bytes: Array(document.utf8)) }
    }

    @Test func numbersAreStrictAndNamed() {
        do {
            _ = try SchedulerReply(
                bytes: Array("<scheduler_reply><next_rpc_delay>30s</next_rpc_delay></scheduler_reply>".utf8)
            )
            Issue.record("30s was read as a number")
        } catch {
            #expect(error.description == "<next_rpc_delay> must be a number, not '30s'")
        }
        #expect(throws: XMLError.self) {
            try SchedulerReply(bytes: Array("<scheduler_reply><hostid></hostid></scheduler_reply>".utf8))
        }
    }

    @Test func boincLeniencyIsKept() throws {
        let document = """
            <?xml version="1.0" encoding="UTF-8"?>
            <!-- a comment -->
            junk before the root
            <scheduler_reply>
              <project_name>   padded name   </project_name>
              <unknown_wrapper><request_delay>11</request_delay><future_element/></unknown_wrapper>
              <message priority="high">disk &lt;full&gt; &amp; more &#65;&#x42;</message>
              <project_is_down/>
            </scheduler_reply>
            """
        let reply = try SchedulerReply(bytes: Array(document.utf8))
        #expect(reply.projectName == "padded name")
        #expect(reply.requestDelay == 11)
        #expect(reply.messages == [.init("disk <full> & more AB", priority: "high")])
        #expect(reply.projectIsDown)
    }

    @Test func hostileFileNamesAreRefused() {
        for name in ["../../etc/passwd", "a/b", "..", "a\u{0}b"] {
            let document = "<scheduler_reply><file_info><name>\(name)</name></file_info></scheduler_reply>"
            #expect(throws: XMLError.self, "\(name)") { try SchedulerReply(bytes: Array(document.utf8)) }
        }
    }

    @Test func theWrongRootIsAnError() {
        #expect(throws: XMLError(.invalidValue, "expected <scheduler_reply>, found <html>")) {
            try SchedulerReply(bytes: Array("<html><body>502 Bad Gateway</body></html>".utf8))
        }
    }
}
