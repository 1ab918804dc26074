/// The thresholds and windows of `SceneTracker`. The defaults assume about 10 frames a second;
/// every time is in seconds of capture time.
public struct SceneTrackerConfig: Sendable, Hashable {
    /// How old the newest frame may be before the whole scene is stale. A gap between frames
    /// longer than this also restarts tracking, so nothing seen before a stall is carried over.
    public var freshness: Freshness

    /// Frames this far back from the newest are averaged for the light, crosswalk and heading.
    /// Half a second smooths single-frame flicker without making red late.
    public var smoothingWindow: Double

    /// Every frame of a green run must give green at least this probability. High, because a
    /// run of confident frames is the only evidence green is announced on.
    public var greenFrameProbability: Double
    /// A green run must have at least this many frames…
    public var greenConfirmFrames: Int
    /// …and last at least this long (first to last frame) before green is confirmed, so one
    /// confident burst cannot announce walk. With the defaults, a real change to green is
    /// confirmed on the frame 0.8 s after the first green frame. The averaged green must also
    /// have reached `stateEnterProbability`.
    public var greenConfirmDuration: Double
    /// A confirmed green is withdrawn by the first frame whose green probability falls below
    /// this. Lower than `greenFrameProbability` (hysteresis: an uncertain frame keeps green), but
    /// one clearly contrary frame is enough, so that green→red and green→flashing are heard fast.
    public var greenReleaseProbability: Double

    /// One frame this sure of red makes the state red at once (red may always be said at once;
    /// wrongly saying "wait" costs a few seconds, wrongly staying on walk costs far more).
    public var redImmediateProbability: Double

    /// A non-green state (red, yellow, dark, no signal) is entered when its averaged probability
    /// reaches this…
    public var stateEnterProbability: Double
    /// …and kept while its averaged probability stays at or above this (hysteresis).
    public var stateHoldProbability: Double

    /// "Changing" with no state confident behind it (a green just ended, nothing sure since)
    /// becomes "unclear" after this long: a change that never resolves is not news, and the
    /// wearer should hear that the signal cannot be read (safety rule 3).
    public var changingHoldTime: Double

    /// Lit/dark alternations are counted over this window to detect a flashing signal.
    public var flashWindow: Double
    /// Alternations (lit→dark or dark→lit) in `flashWindow` that make the signal flashing…
    public var flashEnterTransitions: Int
    /// …and that keep it flashing once it is.
    public var flashHoldTransitions: Int
    /// A frame counts as lit or dark for flash detection only when its most likely class has at
    /// least this probability.
    public var flashFrameProbability: Double

    /// The crosswalk is reported present when its averaged presence reaches this…
    public var crosswalkEnterProbability: Double
    /// …and absent again only when it falls below this.
    public var crosswalkExitProbability: Double
    /// The reported offset of the crosswalk moves to another position only when that position's
    /// averaged probability leads the current one's by this much, so "slightly left" does not
    /// flip back and forth at the boundary.
    public var crosswalkOffsetMargin: Double

    /// Detections below this confidence are ignored.
    public var obstacleMinConfidence: Double
    /// An obstacle (kind at a position) is reported after this many detections within
    /// `obstacleWindow`…
    public var obstacleMinFrames: Int
    public var obstacleWindow: Double
    /// …except a near obstacle straight ahead at this confidence, reported on its first frame:
    /// it is the danger the wearer is about to walk into.
    public var obstacleImmediateConfidence: Double
    /// An obstacle no longer detected is dropped after this long.
    public var obstacleHoldTime: Double

    public init(
        freshness: Freshness = Freshness(maxAge: 0.5),
        smoothingWindow: Double = 0.5,
        greenFrameProbability: Double = 0.85,
        greenConfirmFrames: Int = 5,
        greenConfirmDuration: Double = 0.8,
        greenReleaseProbability: Double = 0.5,
        redImmediateProbability: Double = 0.9,
        stateEnterProbability: Double = 0.6,
        stateHoldProbability: Double = 0.4,
        changingHoldTime: Double = 3.0,
        flashWindow: Double = 2.0,
        flashEnterTransitions: Int = 3,
        flashHoldTransitions: Int = 2,
        flashFrameProbability: Double = 0.6,
        crosswalkEnterProbability: Double = 0.6,
        crosswalkExitProbability: Double = 0.4,
        crosswalkOffsetMargin: Double = 0.15,
        obstacleMinConfidence: Double = 0.5,
        obstacleMinFrames: Int = 2,
        obstacleWindow: Double = 1.0,
        obstacleImmediateConfidence: Double = 0.9,
        obstacleHoldTime: Double = 0.5
    ) {
        self.freshness = freshness
        self.smoothingWindow = smoothingWindow
        self.greenFrameProbability = greenFrameProbability
        self.greenConfirmFrames = greenConfirmFrames
        self.greenConfirmDuration = greenConfirmDuration
        self.greenReleaseProbability = greenReleaseProbability
        self.redImmediateProbability = redImmediateProbability
        self.stateEnterProbability = stateEnterProbability
        self.stateHoldProbability = stateHoldProbability
        self.changingHoldTime = changingHoldTime
        self.flashWindow = flashWindow
        self.flashEnterTransitions = flashEnterTransitions
        self.flashHoldTransitions = flashHoldTransitions
        self.flashFrameProbability = flashFrameProbability
        self.crosswalkEnterProbability = crosswalkEnterProbability
        self.crosswalkExitProbability = crosswalkExitProbability
        self.crosswalkOffsetMargin = crosswalkOffsetMargin
        self.obstacleMinConfidence = obstacleMinConfidence
        self.obstacleMinFrames = obstacleMinFrames
        self.obstacleWindow = obstacleWindow
        self.obstacleImmediateConfidence = obstacleImmediateConfidence
        self.obstacleHoldTime = obstacleHoldTime
    }
}
