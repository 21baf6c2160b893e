import OutpostScheduler
import Testing

@Suite("global preferences")
struct GlobalPreferencesTests {
    /// The content of the first `<global_preferences>` block in a captured file.
    static func capturedContent(_ name: String) throws -> String {
        let text = String(decoding: Fixtures.bytes(name), as: UTF8.self)
        let start = try #require(text.firstRange(of: "<global_preferences>"))
        let end = try #require(text.firstRange(of: "</global_preferences>"))
        return String(text[start.upperBound..<end.lowerBound])
    }

    @Test func theCapturedPreferencesRead() throws {
        let preferences = try GlobalPreferences(content: Self.capturedContent("003-rpc1_scheduler_request.xml"))
        #expect(preferences.workBufferMinimumDays == 0.1)
        #expect(preferences.workBufferAdditionalDays == 0.5)
        #expect(preferences.maximumCPUPercent == 0)
        #expect(preferences.modifiedTime == 0)
    }

    @Test func aVenueDoesNotOverrideTheDefaults() throws {
        let preferences = try GlobalPreferences(
            content:
                "<work_buf_min_days>1</work_buf_min_days><venue name=\"home\"><work_buf_min_days>5</work_buf_min_days></venue>"
        )
        #expect(preferences.workBufferMinimumDays == 1)
        #expect(preferences.workBufferAdditionalDays == nil)
    }

    @Test(
        "bad values are errors naming the element",
        arguments: [
            ("<work_buf_min_days>lots</work_buf_min_days>", "work_buf_min_days"),
            ("<work_buf_additional_days>400</work_buf_additional_days>", "work_buf_additional_days"),
            ("<max_ncpus_pct>150</max_ncpus_pct>", "max_ncpus_pct"),
            ("<!DOCTYPE x [<!ENTITY a \"b\">]><work_buf_min_days>1</work_buf_min_days>", "declaration"),
        ]
    )
    func badValuesAreRefused(content: String, named: String) {
        #expect {
            try GlobalPreferences(content: content)
        } throws: { error in
            "\(error)".contains(named) || ((error as? XMLError)?.code == .declaration && named == "declaration")
        }
    }
}
