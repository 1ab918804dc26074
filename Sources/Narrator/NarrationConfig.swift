/// What the wearer is doing, which decides what is worth saying.
public enum NarrationMode: String, Sendable, Hashable, Codable, CaseIterable {
    /// At a crossing: the signal, the crosswalk and alignment cues; only near obstacles.
    case crossing
    /// On the pavement: obstacles and the path; the signal only at `verbose`.
    case walking
    /// Quiet except for danger; the full description when asked (`NarrationPolicy.describe`).
    case describe
}

/// How much is said unprompted.
public enum Verbosity: Int, Sendable, Hashable, Codable, CaseIterable, Comparable {
    /// Danger, the signal's walk/wait states and the camera only.
    case minimal
    case normal
    /// Also far obstacles, "no signal" and repeated crosswalk positions.
    case verbose

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

    /// The name people type and read ("minimal", "normal", "verbose"): in flags, config files
    /// and the API.
    public var name: String { "\(self)" }

    public init?(name: String) {
        guard let match = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = match
    }
}

/// How directions are spoken.
public enum DirectionStyle: String, Sendable, Hashable, Codable, CaseIterable {
    /// "on your left", "ahead", "on your right".
    case relative
    /// Clock face, 12 o'clock straight ahead. The camera sees about ±35°, so left, ahead and
    /// right of the image are 11, 12 and 1 o'clock; headings are rounded to the nearest hour.
    case clockFace
}

/// The narration policy's settings, with defaults for a wearer at a crossing.
public struct NarrationConfig: Sendable, Hashable {
    public var language: Language
    public var mode: NarrationMode
    public var verbosity: Verbosity
    public var directions: DirectionStyle
    /// A signal state still in force is said again after this many seconds, as an accessible
    /// pedestrian signal repeats its message; "no signal", "changing" and "unclear" are not
    /// repeated (they are said again when the state changes).
    public var lightRepeatInterval: Double
    /// "Camera blocked" is said again after this long while the camera stays lost.
    public var cameraRepeatInterval: Double
    /// The same obstacle at the same distance is said again after this long.
    public var obstacleRepeatInterval: Double
    /// The crosswalk's position and the alignment cue are said again after this long.
    public var crosswalkRepeatInterval: Double
    /// A crosswalk heading at least this far from straight ahead gives a "turn slightly" cue…
    public var alignmentDegrees: Double
    /// …and at least this far, a "turn" cue.
    public var strongTurnDegrees: Double
    /// At most this many obstacles are said at once, nearest first: more is noise.
    public var maxObstacles: Int

    public init(
        language: Language = .english,
        mode: NarrationMode = .crossing,
        verbosity: Verbosity = .normal,
        directions: DirectionStyle = .relative,
        lightRepeatInterval: Double = 10,
        cameraRepeatInterval: Double = 10,
        obstacleRepeatInterval: Double = 8,
        crosswalkRepeatInterval: Double = 15,
        alignmentDegrees: Double = 10,
        strongTurnDegrees: Double = 30,
        maxObstacles: Int = 3
    ) {
        self.language = language
        self.mode = mode
        self.verbosity = verbosity
        self.directions = directions
        self.lightRepeatInterval = lightRepeatInterval
        self.cameraRepeatInterval = cameraRepeatInterval
        self.obstacleRepeatInterval = obstacleRepeatInterval
        self.crosswalkRepeatInterval = crosswalkRepeatInterval
        self.alignmentDegrees = alignmentDegrees
        self.strongTurnDegrees = strongTurnDegrees
        self.maxObstacles = maxObstacles
    }

    /// The alignment cue for a crosswalk heading (negative: it runs to the left), or `nil` when
    /// the wearer already faces along it.
    public func turn(forHeading heading: Double?) -> Turn? {
        guard let heading, abs(heading) >= alignmentDegrees else { return nil }
        switch directions {
        case .relative:
            let strong = abs(heading) >= strongTurnDegrees
            return heading < 0 ? (strong ? .left : .slightlyLeft) : (strong ? .right : .slightlyRight)
        case .clockFace:
            let hour = Phrasebook.hour(ofHeading: heading)
            return hour == 12 ? nil : .towards(hour: hour)
        }
    }
}
