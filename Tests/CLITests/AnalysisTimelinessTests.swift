@testable import assistd
import Testing

/// A small board whose analyses end past the freshness limit: nothing is said from them, and
/// after the grace the wearer hears that the view is stale (safety rule 2).
@Suite("assistd: analyses that end too late")
struct AnalysisTimelinessTests {
    @Test("In time speaks; a late one is unsaid and logged once; late for a second is stale; in time again starts over")
    func verdicts() {
        var timeliness = AnalysisTimeliness(maxFrameAge: 0.5, grace: 1.0)
        #expect(timeliness.judge(capturedAt: 0, finishedAt: 0.4) == .inTime)
        #expect(timeliness.judge(capturedAt: 0.5, finishedAt: 1.05) == .late(first: true))
        #expect(timeliness.judge(capturedAt: 1.0, finishedAt: 1.6) == .late(first: false))
        #expect(timeliness.judge(capturedAt: 1.5, finishedAt: 2.1) == .stale, "late for over a second")
        #expect(timeliness.judge(capturedAt: 2.0, finishedAt: 2.6) == .stale)
        #expect(timeliness.judge(capturedAt: 2.5, finishedAt: 2.8) == .inTime)
        #expect(timeliness.judge(capturedAt: 3.0, finishedAt: 3.6) == .late(first: true), "a new run of late ones")
        // The limit itself is still in time, as the tracker's freshness counts it.
        #expect(timeliness.judge(capturedAt: 4.0, finishedAt: 4.5) == .inTime)
    }
}
