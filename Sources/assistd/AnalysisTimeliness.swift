/// Decides what a finished analysis may say, by how old its frame is when the analysis ends.
///
/// The worker drops frames that are too old before analysing them, but an analysis itself can
/// take longer than the freshness limit on a small board (thermal throttling, a busy core). What
/// it would say is then from an old frame (safety rule 2): it is left unsaid, and the policy
/// forgets it so that it is said from the next frame in time. One late analysis is a hiccup; late
/// ones for longer than `grace` mean the board cannot keep up, and the wearer must hear that the
/// view is not fresh rather than a silence that sounds like a quiet street.
struct AnalysisTimeliness: Sendable {
    enum Verdict: Equatable {
        /// In time: say what it says.
        case inTime
        /// Late: say nothing from it. `first` for the first of a run of late ones (log it once).
        case late(first: Bool)
        /// Late for longer than the grace: the scene is stale, say so.
        case stale
    }

    let maxFrameAge: Double
    let grace: Double
    /// When the current run of late analyses began.
    private(set) var lateSince: Double?

    init(maxFrameAge: Double, grace: Double) {
        self.maxFrameAge = maxFrameAge
        self.grace = grace
    }

    mutating func judge(capturedAt: Double, finishedAt: Double) -> Verdict {
        guard finishedAt - capturedAt > maxFrameAge else {
            lateSince = nil
            return .inTime
        }
        guard let since = lateSince else {
            lateSince = finishedAt
            return grace <= 0 ? .stale : .late(first: true)
        }
        return finishedAt - since >= grace ? .stale : .late(first: false)
    }
}
