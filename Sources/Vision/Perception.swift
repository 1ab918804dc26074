/// What the perception heads say about one frame, before any smoothing over time.
///
/// The heads give calibrated probabilities rather than decisions so that the scene tracker
/// (Fusion) can average them over a window and apply its own thresholds: a single frame is never
/// trusted to announce a green light (DESIGN.md, safety rule 1).
public struct Perception: Sendable, Hashable {
    /// When the frame was captured, in seconds on the capture clock (the clock the tracker is
    /// asked about; not the time the heads finished).
    public var time: Double
    public var light: LightEvidence
    public var crosswalk: CrosswalkEvidence
    public var obstacles: [ObstacleDetection]
    /// The language decoder's caption for this frame, when it ran. It is free text from a model:
    /// the narration policy never lets it state the light on its own authority.
    public var description: String?

    public init(
        time: Double,
        light: LightEvidence,
        crosswalk: CrosswalkEvidence,
        obstacles: [ObstacleDetection] = [],
        description: String? = nil
    ) {
        self.time = time
        self.light = light
        self.crosswalk = crosswalk
        self.obstacles = obstacles
        self.description = description
    }
}

/// The per-frame classes of the light-state head, in the order of the training label set
/// (`LIGHT_STATES` in training/lttw/generator.py). `flashing` and `unknown` are not among them:
/// they only exist over time, in the tracker.
public enum FrameLightClass: String, Sendable, Hashable, Codable, CaseIterable {
    case none, red, green, yellow, off
}

/// A calibrated probability distribution over `FrameLightClass`.
public struct LightStateProbabilities: Sendable, Hashable {
    public var none: Double
    public var red: Double
    public var green: Double
    public var yellow: Double
    public var off: Double

    public init(none: Double = 0, red: Double = 0, green: Double = 0, yellow: Double = 0, off: Double = 0) {
        self.none = none
        self.red = red
        self.green = green
        self.yellow = yellow
        self.off = off
    }

    /// All mass on one class: what a scripted or labelled frame looks like.
    public static func certain(_ state: FrameLightClass, confidence: Double = 1) -> LightStateProbabilities {
        let rest = (1 - confidence) / Double(FrameLightClass.allCases.count - 1)
        var result = LightStateProbabilities(none: rest, red: rest, green: rest, yellow: rest, off: rest)
        result[state] = confidence
        return result
    }

    public subscript(state: FrameLightClass) -> Double {
        get {
            switch state {
            case .none: none
            case .red: red
            case .green: green
            case .yellow: yellow
            case .off: off
            }
        }
        set {
            switch state {
            case .none: none = newValue
            case .red: red = newValue
            case .green: green = newValue
            case .yellow: yellow = newValue
            case .off: off = newValue
            }
        }
    }

    /// The class with the most mass (ties go to the earlier class in `allCases`, so a tie
    /// between red and green reads as red).
    public var mostLikely: (state: FrameLightClass, probability: Double) {
        var best = (state: FrameLightClass.none, probability: none)
        for state in FrameLightClass.allCases where self[state] > best.probability {
            best = (state, self[state])
        }
        return best
    }

    /// The distribution rescaled to sum to 1, with negative or non-finite entries treated as 0;
    /// `nil` when nothing is left. The heads are meant to be calibrated already; this keeps one
    /// broken frame from poisoning an average.
    public func normalized() -> LightStateProbabilities? {
        var clean = self
        var total = 0.0
        for state in FrameLightClass.allCases {
            let value = self[state]
            let usable = value.isFinite && value > 0 ? value : 0
            clean[state] = usable
            total += usable
        }
        guard total > 0 else { return nil }
        for state in FrameLightClass.allCases {
            clean[state] /= total
        }
        return clean
    }
}

/// The light head's output for one frame: the state distribution, what kind of light it is
/// and where it is.
public struct LightEvidence: Sendable, Hashable {
    public var state: LightStateProbabilities
    /// Probability that the light is a pedestrian signal rather than a vehicle signal; only
    /// meaningful when a lamp was found (`position` is not nil).
    public var pedestrianProbability: Double
    /// Where the frame's lamp is; nil when the frame found none (no signal, or a frame the expert
    /// could not read), so the tracker never places a signal it did not see.
    public var position: Position?
    /// The seconds a countdown beside the lamp showed, with the state the frame was decided as
    /// (red or green): the tracker says them only while it holds that same state.
    public var countdown: Countdown?
    /// The frame showed no colour (a grey or infrared picture), so its light could not be read:
    /// the tracker tells the wearer why the signal is unclear, so they can see to the camera.
    public var seenWithoutColour: Bool

    public init(
        state: LightStateProbabilities, pedestrianProbability: Double = 1, position: Position? = .ahead, countdown: Countdown? = nil,
        seenWithoutColour: Bool = false
    ) {
        self.state = state
        self.pedestrianProbability = pedestrianProbability
        self.position = position
        self.countdown = countdown
        self.seenWithoutColour = seenWithoutColour
    }

    /// A countdown read on one frame.
    public struct Countdown: Sendable, Hashable {
        /// The state of the lamp it stands beside (red or green).
        public var state: LightState
        public var seconds: Int

        public init(state: LightState, seconds: Int) {
            self.state = state
            self.seconds = seconds
        }
    }

    /// The most likely kind of light.
    public var kind: LightKind { pedestrianProbability >= 0.5 ? .pedestrian : .vehicle }
}

/// A calibrated distribution over where something lies (left, ahead, right).
public struct PositionProbabilities: Sendable, Hashable {
    public var left: Double
    public var ahead: Double
    public var right: Double

    public init(left: Double = 0, ahead: Double = 0, right: Double = 0) {
        self.left = left
        self.ahead = ahead
        self.right = right
    }

    public static func certain(_ position: Position) -> PositionProbabilities {
        var result = PositionProbabilities()
        result[position] = 1
        return result
    }

    public subscript(position: Position) -> Double {
        get {
            switch position {
            case .left: left
            case .ahead: ahead
            case .right: right
            }
        }
        set {
            switch position {
            case .left: left = newValue
            case .ahead: ahead = newValue
            case .right: right = newValue
            }
        }
    }

    /// The most likely position; ties go to `ahead`, then `left`, because "ahead" asks the
    /// wearer to do nothing.
    public var mostLikely: Position {
        [Position.ahead, .left, .right].max { self[$0] < self[$1] } ?? .ahead
    }
}

/// The crosswalk head's output for one frame.
public struct CrosswalkEvidence: Sendable, Hashable {
    /// Probability that a crosswalk is in view.
    public var presence: Double
    /// Where the crosswalk's near end lies relative to the wearer.
    public var offset: PositionProbabilities
    /// The direction the crosswalk runs, in degrees from straight ahead; negative is to the
    /// wearer's left (the sign of `heading_deg` in the scene-facts contract).
    public var headingDegrees: Double

    public init(presence: Double, offset: PositionProbabilities = .certain(.ahead), headingDegrees: Double = 0) {
        self.presence = presence
        self.offset = offset
        self.headingDegrees = headingDegrees
    }

    /// No crosswalk in view.
    public static let absent = CrosswalkEvidence(presence: 0)
}

/// One obstacle found in one frame.
public struct ObstacleDetection: Sendable, Hashable {
    /// The obstacle head's label (`car`, `bicycle`, …, as in the model's config).
    public var kind: String
    public var position: Position
    public var distance: Distance
    public var confidence: Double

    public init(kind: String, position: Position, distance: Distance, confidence: Double) {
        self.kind = kind
        self.position = position
        self.distance = distance
        self.confidence = confidence
    }
}
