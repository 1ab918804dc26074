import Kernels
import Vision

/// What one frame's heads say, decided with the model's thresholds: the per-frame facts of
/// DESIGN.md. The same rules as training/lttw/artifact.py's `Predictor`, so `listen eval` and the
/// Python evaluator agree.
///
/// A single frame never has the last word on a green light: `SceneTracker` confirms it over
/// time. This reading is what `listen describe` prints for a still image and what the evaluation
/// scores.
public struct FrameReading: Sendable {
    public var lightProbabilities: [Float]
    public var lightKindProbabilities: [Float]
    public var lightPositionProbabilities: [Float]
    public var crosswalkProbability: Float
    public var crosswalkOffsetProbabilities: [Float]
    public var crosswalkHeadingDegrees: Float
    /// [position][kind] probabilities, positions in `configuration.positions` order.
    public var obstacleProbabilities: [Float]
    public var obstacleDistanceProbabilities: [Float]
    /// The signal expert's decision; when present it, not the scene heads, gives the light.
    public var signal: SignalDecision?
    /// The model has a signal expert but it has not read this frame: the light is unknown (the
    /// heads do not stand in for it, and the last frame's decision never does: safety rule 2).
    public var signalUnread = false
    /// The obstacle expert's obstacles; when present they, not the scene heads, give the obstacles.
    public var expertObstacles: [ObstacleDetection]?

    /// The frame as a stream last read it: the heads, and the signal expert's decision when the
    /// model has one.
    public init(_ stream: StreetModel.Stream) {
        self.init(stream.heads, configuration: stream.model.configuration)
        signal = stream.model.signalExpert == nil ? nil : stream.signalDecision
        signalUnread = stream.model.signalExpert != nil && signal == nil
        if let expert = stream.model.obstacleExpert, let state = stream.obstacles, stream.obstaclesRead {
            expertObstacles = expert.detections(state)
        }
    }

    /// Copies the calibrated head outputs out of a stream.
    public init(_ heads: PerceptionHeads.State, configuration c: ModelConfiguration) {
        var byName: [String: [Float]] = [:]
        for (name, tensor) in zip(c.headOrder, heads.probabilities) { byName[name] = tensor.values }
        lightProbabilities = byName["light_state"]!
        lightKindProbabilities = byName["light_kind"]!
        lightPositionProbabilities = byName["light_position"]!
        crosswalkProbability = byName["crosswalk"]![1]
        crosswalkOffsetProbabilities = byName["crosswalk_offset"]!
        crosswalkHeadingDegrees = byName["crosswalk_heading"]![0]
        obstacleProbabilities = byName["obstacles"]!
        obstacleDistanceProbabilities = byName["obstacle_distance"]!
    }

    /// The light decision: the most likely state, "unknown" when unsure, and green only at or
    /// above the green operating threshold (safety rule 3: say unsure rather than guess).
    public func lightState(_ c: ModelConfiguration) -> LightState {
        if let signal { return signal.state }
        if signalUnread { return .unknown }
        return lightProbabilities.withUnsafeBufferPointer { Self.lightState($0, c) }
    }

    /// The scene heads' light decision from their calibrated state probabilities.
    static func lightState(_ probabilities: UnsafeBufferPointer<Float>, _ c: ModelConfiguration) -> LightState {
        let best = argmax(probabilities)
        let label = c.lightStates[best]
        let p = probabilities[best]
        if label == "green" && p < c.thresholds.green { return .unknown }
        if p < c.thresholds.abstain { return .unknown }
        return LightState(rawValue: label) ?? .unknown
    }

    /// The per-frame scene facts (DESIGN.md schema) at `time`.
    public func facts(time: Double, configuration c: ModelConfiguration, description: String? = nil) -> SceneFacts {
        let state = lightState(c)
        let inView = state != .none
        let light: SceneFacts.Light
        if let signal {
            light = SceneFacts.Light(
                kind: inView ? signal.kind : nil, state: state, confidence: Self.rounded(Float(signal.confidence)),
                position: inView ? signal.position : nil, secondsLeft: signal.secondsLeft)
        } else if signalUnread {
            light = SceneFacts.Light(kind: nil, state: .unknown, confidence: 0, position: nil)
        } else {
            light = SceneFacts.Light(
                kind: inView ? LightKind(rawValue: c.lightKinds[Self.argmax(lightKindProbabilities)]) : nil,
                state: state,
                confidence: Self.rounded(lightProbabilities.max() ?? 0),
                position: inView ? Position(rawValue: c.positions[Self.argmax(lightPositionProbabilities)]) : nil)
        }
        let present = crosswalkProbability >= c.thresholds.crosswalk
        let crosswalk = SceneFacts.Crosswalk(
            present: present,
            offset: present ? Position(rawValue: c.positions[Self.argmax(crosswalkOffsetProbabilities)]) : nil,
            headingDegrees: present ? (Double(crosswalkHeadingDegrees) * 10).rounded() / 10 : nil,
            confidence: Self.rounded(present ? crosswalkProbability : 1 - crosswalkProbability))
        let obstacles = obstacleDetections(c).map {
            SceneFacts.Obstacle(kind: $0.kind, position: $0.position, distance: $0.distance, confidence: Self.rounded(Float($0.confidence)))
        }
        return SceneFacts(time: time, light: light, crosswalk: crosswalk, obstacles: obstacles, description: description)
    }

    /// Every obstacle at or above the model's operating threshold, at the most likely distance
    /// for its position.
    func obstacleDetections(_ c: ModelConfiguration) -> [ObstacleDetection] {
        if let expertObstacles { return expertObstacles }
        var obstacles: [ObstacleDetection] = []
        obstacleProbabilities.withUnsafeBufferPointer { kinds in
            obstacleDistanceProbabilities.withUnsafeBufferPointer { distances in
                Self.forEachObstacle(kinds: kinds, distances: distances, c) { kind, position, distance, confidence in
                    obstacles.append(ObstacleDetection(kind: kind, position: position, distance: distance, confidence: Double(confidence)))
                }
            }
        }
        return obstacles
    }

    /// The scene heads' obstacles, from their [position][kind] probabilities and [position][distance]
    /// distributions: each kind at or above the operating threshold, at its position's most likely
    /// distance, in position then kind order. Allocates nothing.
    static func forEachObstacle(
        kinds p: UnsafeBufferPointer<Float>, distances d: UnsafeBufferPointer<Float>, _ c: ModelConfiguration,
        _ body: (String, Position, Distance, Float) -> Void
    ) {
        let kinds = c.obstacleKinds.count, groups = c.distances.count
        for (i, positionName) in c.positions.enumerated() {
            guard let position = Position(rawValue: positionName) else { continue }
            let distance = Distance(rawValue: c.distances[argmax(UnsafeBufferPointer(rebasing: d[(i * groups)..<((i + 1) * groups)]))]) ?? .mid
            for (k, kind) in c.obstacleKinds.enumerated() where p[i * kinds + k] >= c.thresholds.obstacle {
                body(kind, position, distance, p[i * kinds + k])
            }
        }
    }

    /// Four decimals are plenty for a confidence and keep JSON output readable.
    static func rounded(_ value: Float) -> Double { (Double(value) * 10_000).rounded() / 10_000 }

    static func argmax(_ values: [Float]) -> Int {
        values.withUnsafeBufferPointer { argmax($0) }
    }

    /// The first index of the largest value.
    static func argmax(_ values: UnsafeBufferPointer<Float>) -> Int {
        var best = 0
        for i in values.indices where values[i] > values[best] { best = i }
        return best
    }
}
