import Vision

/// What the tracker believes about the signal, richer than `LightState` because the narration
/// needs to know *why* it is not green (changing, unclear) and whether green is confirmed.
public enum LightStatus: String, Sendable, Hashable, Codable, CaseIterable {
    /// No signal in view.
    case none
    case red
    case yellow
    /// Green, confirmed over enough frames and time at high confidence (safety rule 1). The
    /// tracker never reports green in any other way.
    case green
    /// Lit and dark phases alternating: a signal about to change. Never a reason to start.
    case flashing
    /// A signal in view that is dark.
    case off
    /// The evidence agrees on nothing (safety rule 3: say so, don't guess).
    case unclear
    /// Unclear because every recent frame showed no colour (a grey or infrared picture, a camera
    /// in night mode): lamps are told by their colour, so no signal can be read until the
    /// picture has some. Said apart from `unclear` so the wearer knows the camera, not the
    /// street, is what to see to.
    case noColour = "no_colour"
    /// The evidence is moving away from a confirmed state, or towards a green that is not yet
    /// confirmed. Said at once, because it is never an invitation to walk.
    case changing

    /// The contract's light state. `changing`, `unclear` and `noColour` all read `unknown` there:
    /// none is a state a listener may act on.
    public var factsState: LightState {
        switch self {
        case .none: .none
        case .red: .red
        case .yellow: .yellow
        case .green: .green
        case .flashing: .flashing
        case .off: .off
        case .unclear, .noColour, .changing: .unknown
        }
    }
}

/// The tracked signal.
public struct TrackedLight: Sendable, Hashable {
    public var status: LightStatus
    /// The kind and place of the lamp the recent frames found; nil for `none`, and for a status
    /// no frame of the smoothing window found a lamp for (an unclear stream of unreadable frames).
    public var kind: LightKind?
    public var position: Position?
    /// The averaged probability behind `status` (for `changing` and `unclear`, of the most
    /// likely per-frame class).
    public var confidence: Double
    /// Capture time of the frame at which `status` began.
    public var since: Double
    /// The seconds the countdown beside the lamp showed on the newest frame, when it was read there
    /// beside a lamp in this same state (red or green only). As read, not aged: the newest frame
    /// is at most the freshness limit old (0.5 s by default) or the scene is stale and has no light.
    public var secondsLeft: Int?

    public init(status: LightStatus, kind: LightKind?, position: Position?, confidence: Double, since: Double, secondsLeft: Int? = nil) {
        self.status = status
        self.kind = kind
        self.position = position
        self.confidence = confidence
        self.since = since
        self.secondsLeft = secondsLeft
    }

    /// The kind the light's words use: one of unknown kind (no recent frame found a lamp: an
    /// unclear or changing stream) is worded as a pedestrian signal's; only red and green words
    /// differ by kind.
    public var spokenKind: LightKind { kind ?? .pedestrian }

    /// Whether this is a green that passed confirmation. Only this may be announced as walk.
    public var isConfirmedGreen: Bool { status == .green }
}

/// The scene as the tracker holds it at one moment: smoothed facts plus what the narration
/// policy needs to decide whether to speak.
public struct TrackedScene: Sendable, Hashable {
    /// The moment the scene was asked for (same clock as frame capture times).
    public var time: Double
    /// Capture time of the newest frame used, or `nil` before the first frame.
    public var frameTime: Double?
    /// No fresh frame: the camera stalled or the pipeline fell behind. A stale scene carries no
    /// light, crosswalk or obstacles (safety rule 2).
    public var isStale: Bool
    public var light: TrackedLight?
    public var crosswalk: SceneFacts.Crosswalk?
    public var obstacles: [SceneFacts.Obstacle]
    /// The decoder's caption from the newest frame, when it ran.
    public var description: String?
    /// Whether the light status changed with the newest frame.
    public var lightChanged: Bool

    public init(
        time: Double,
        frameTime: Double?,
        isStale: Bool,
        light: TrackedLight?,
        crosswalk: SceneFacts.Crosswalk?,
        obstacles: [SceneFacts.Obstacle],
        description: String?,
        lightChanged: Bool
    ) {
        self.time = time
        self.frameTime = frameTime
        self.isStale = isStale
        self.light = light
        self.crosswalk = crosswalk
        self.obstacles = obstacles
        self.description = description
        self.lightChanged = lightChanged
    }

    /// The contract's scene facts (DESIGN.md) for this moment.
    public var facts: SceneFacts {
        SceneFacts(
            time: time,
            light: light.map {
                SceneFacts.Light(
                    kind: $0.kind, state: $0.status.factsState, confidence: $0.confidence, position: $0.position, secondsLeft: $0.secondsLeft)
            },
            crosswalk: crosswalk,
            obstacles: obstacles,
            description: description
        )
    }
}
