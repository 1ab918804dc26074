/// What one frame (or one narration) says about the street: the contract of DESIGN.md,
/// serialised with exactly its key names.
public struct SceneFacts: Sendable, Hashable, Codable {
    public var time: Double
    public var light: Light?
    public var crosswalk: Crosswalk?
    public var obstacles: [Obstacle]
    public var description: String?

    public init(time: Double, light: Light?, crosswalk: Crosswalk?, obstacles: [Obstacle], description: String? = nil) {
        self.time = time
        self.light = light
        self.crosswalk = crosswalk
        self.obstacles = obstacles
        self.description = description
    }

    /// The facts with times to the millisecond, confidences to four decimals and the heading to
    /// a tenth of a degree: more digits are noise, and they make JSON output hard to read. A
    /// confidence that is not a number becomes 0 and such a heading is left out, so the facts
    /// always encode (JSON has no NaN; the encoder throws, and the frame's facts were lost).
    public func rounded() -> SceneFacts {
        func round(_ value: Double, _ scale: Double) -> Double { value.isFinite ? (value * scale).rounded() / scale : 0 }
        var copy = self
        copy.time = round(time, 1_000)
        copy.light?.confidence = round(light?.confidence ?? 0, 10_000)
        copy.crosswalk?.confidence = round(crosswalk?.confidence ?? 0, 10_000)
        copy.crosswalk?.headingDegrees = crosswalk?.headingDegrees.flatMap { $0.isFinite ? round($0, 10) : nil }
        copy.obstacles = obstacles.map {
            var obstacle = $0
            obstacle.confidence = round($0.confidence, 10_000)
            return obstacle
        }
        return copy
    }

    public struct Light: Sendable, Hashable, Codable {
        /// Absent when no light is in view (state `none`).
        public var kind: LightKind?
        public var state: LightState
        public var confidence: Double
        /// Absent when no light is in view (state `none`).
        public var position: Position?
        /// The seconds a countdown beside the signal shows; only when one was read (DESIGN.md).
        public var secondsLeft: Int?

        enum CodingKeys: String, CodingKey {
            case kind, state, confidence, position
            case secondsLeft = "seconds_left"
        }

        public init(kind: LightKind?, state: LightState, confidence: Double, position: Position?, secondsLeft: Int? = nil) {
            self.kind = kind
            self.state = state
            self.confidence = confidence
            self.position = position
            self.secondsLeft = secondsLeft
        }
    }

    public struct Crosswalk: Sendable, Hashable, Codable {
        public var present: Bool
        public var offset: Position?
        public var headingDegrees: Double?
        public var confidence: Double

        enum CodingKeys: String, CodingKey {
            case present, offset, confidence
            case headingDegrees = "heading_deg"
        }

        public init(present: Bool, offset: Position?, headingDegrees: Double?, confidence: Double) {
            self.present = present
            self.offset = offset
            self.headingDegrees = headingDegrees
            self.confidence = confidence
        }
    }

    public struct Obstacle: Sendable, Hashable, Codable {
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
}

/// The state of a signal. `flashing` and `unknown` come from tracking and thresholds, not from
/// a single frame's classifier.
public enum LightState: String, Sendable, Hashable, Codable, CaseIterable {
    case red, green, yellow, flashing, off, none, unknown
}

public enum LightKind: String, Sendable, Hashable, Codable, CaseIterable {
    case pedestrian, vehicle
}

/// Where something is, relative to where the wearer faces.
public enum Position: String, Sendable, Hashable, Codable, CaseIterable {
    case left, ahead, right
}

public enum Distance: String, Sendable, Hashable, Codable, CaseIterable {
    case near, mid, far
}
