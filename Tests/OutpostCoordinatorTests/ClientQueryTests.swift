import Testing

@testable import OutpostCoordinator

@Suite("Client query language")
struct ClientQueryTests {
    @Test(
        "the documented query forms parse",
        arguments: [
            "Client",
            "Client where type=1",
            "Client where status=online and site_hr=hq",
            "client WHERE type != 5 AND (status = online OR status = disabled)",
            "Client where site_hr in (hq, 'lab 2', \"remote\")",
            "Client where site_hr not in (hq)",
            "Client where not status=offline",
            "Client where metrics.c >= 8 and metrics.in.s > -1",
            "Client where metadata.external.location = custom",
            "Client where last_checkin >= 2026-11-23T07:51:57 and created < 2027-01-01",
            "Client where parent = null",
            "Client where host_id = 12:00:7C:18:F1:11",
            "Client where status=disabled-offline",
        ]
    )
    func parses(_ query: String) throws {
        _ = try ClientQuery.parse(query)
    }

    @Test("and binds tighter than or")
    func precedence() throws {
        let query = try ClientQuery.parse("Client where type=1 or type=2 and status=online")
        guard case .or(let left, let right)? = query.condition else {
            Issue.record("expected or at the top, got \(String(describing: query.condition))")
            return
        }
        #expect(left == .comparison(.column("type"), .equal, .number(1)))
        guard case .and = right else {
            Issue.record("expected and on the right")
            return
        }
    }

    @Test("values: numbers, null, quoted and bare text")
    func values() throws {
        let query = try ClientQuery.parse(#"Client where description = 'it\'s' or benchmark = 2.5"#)
        #expect(
            query.condition
                == .or(
                    .comparison(.column("description"), .equal, .text("it's")),
                    .comparison(.column("benchmark"), .equal, .number(2.5))
                )
        )
        let quoted = try ClientQuery.parse(#"Client where description = "say \"hi\"""#)
        #expect(quoted.condition == .comparison(.column("description"), .equal, .text(#"say "hi""#)))
    }

    @Test(
        "malformed queries point at the offending word",
        arguments: [
            ("Clients where type=1", "Clients", 1),
            ("Client type=1", "type", 8),
            ("Client where typo=1", "typo", 14),
            ("Client where type=", "", 19),
            ("Client where type 1", "1", 19),
            ("Client where (type=1", "", 21),
            ("Client where type=1 and", "", 24),
            ("Client where type=1 type=2", "type", 21),
            ("Client where site_hr in (hq", "", 28),
            ("Client where site_hr in hq", "hq", 25),
            ("Client where code = 'open", "'open", 21),
            ("Client where code ! 1", "!", 19),
            ("Client where metrics. = 1", "metrics.", 14),
            ("where type=1", "where", 1),
            ("", "", 1),
        ]
    )
    func malformed(_ query: String, _ word: String, _ position: Int) {
        #expect {
            try ClientQuery.parse(query)
        } throws: { error in
            guard let error = error as? ClientQueryError else { return false }
            return error.word == word && error.position == position
                && error.description.contains("character \(position)")
        }
    }

    @Test("nesting and size are bounded")
    func bounded() {
        #expect(throws: ClientQueryError.self) {
            try ClientQuery.parse("Client where " + String(repeating: "(", count: 10_000) + "type=1")
        }
        #expect(throws: ClientQueryError.self) {
            try ClientQuery.parse("Client where code=" + String(repeating: "x", count: 5000))
        }
    }

    @Test(
        "values are checked against their attribute",
        arguments: [
            "Client where status=sleeping",
            "Client where type=robot",
            "Client where created > yesterday",
            "Client where created > 2026-02-31",
            "Client where benchmark > fast",
            "Client where type < null",
            "Client where code in (a, null)",
        ]
    )
    func checkedValues(_ query: String) throws {
        let parsed = try ClientQuery.parse(query)
        var compiler = ClientQuerySQL(onlineCutoff: 0)
        #expect(throws: ClientQueryError.self) { try compiler.condition(parsed) }
    }

    @Test("timestamps round-trip in the entity's form")
    func timestamps() {
        #expect(ClientTimestamp.format(0) == "1970-01-01T00:00:00")
        #expect(ClientTimestamp.parse("2022-01-21T07:51:57") == 1_642_751_517)
        #expect(ClientTimestamp.parse("2022-01-21") == 1_642_723_200)
        #expect(ClientTimestamp.parse("2022-01-21 07:51Z") == 1_642_751_460)
        #expect(ClientTimestamp.format(1_642_751_517) == "2022-01-21T07:51:57")
        #expect(ClientTimestamp.parse("2022-13-01") == nil)
        #expect(ClientTimestamp.parse("2022-02-30") == nil)
    }
}
