import OutpostScheduler
import Testing

@testable import OutpostNode

@Suite("scheduler work buffer")
struct WorkBufferTests {
    @Test("the node's configuration wins, then the project's preferences, then 0.01 days each")
    func precedence() throws {
        let preferences = try GlobalPreferences(
            content:
                "<work_buf_min_days>0.1</work_buf_min_days><work_buf_additional_days>0.5</work_buf_additional_days>"
        )
        var settings = NodeConfiguration.Scheduler()
        #expect(SchedulerClient.workBuffer(settings: settings, preferences: nil) == (0.01, 0.01))
        #expect(SchedulerClient.workBuffer(settings: settings, preferences: preferences) == (0.1, 0.5))
        settings.workBufferMinimumDays = 0.02
        #expect(SchedulerClient.workBuffer(settings: settings, preferences: preferences) == (0.02, 0.5))
        settings.workBufferAdditionalDays = 0
        #expect(SchedulerClient.workBuffer(settings: settings, preferences: preferences) == (0.02, 0))
    }
}
