import Fusion
import Vision

extension FrameReading {
    /// The frame's evidence for the scene tracker: the calibrated distributions as they are, so
    /// the tracker can average them over time and apply its own thresholds. Obstacles are listed
    /// from the model's operating threshold up; the tracker then asks for them on several frames.
    public func perception(time: Double, configuration c: ModelConfiguration, description: String? = nil) -> Perception {
        let light: LightEvidence
        if let signal {
            light = signal.evidence
        } else if signalUnread {
            // Flat, as an unknown decision is: it can neither confirm green nor hold any state.
            let flat = 1.0 / Double(FrameLightClass.allCases.count)
            light = LightEvidence(
                state: LightStateProbabilities(none: flat, red: flat, green: flat, yellow: flat, off: flat),
                pedestrianProbability: 1, position: nil)
        } else {
            var state = LightStateProbabilities()
            for (label, p) in zip(c.lightStates, lightProbabilities) {
                guard let frameClass = FrameLightClass(rawValue: label) else { continue }
                state[frameClass] = Double(p)
            }
            let pedestrian = c.lightKinds.firstIndex(of: LightKind.pedestrian.rawValue)
                .map { Double(lightKindProbabilities[$0]) } ?? 1
            light = LightEvidence(
                state: state,
                pedestrianProbability: pedestrian,
                position: Position(rawValue: c.positions[Self.argmax(lightPositionProbabilities)]) ?? .ahead)
        }

        var offset = PositionProbabilities()
        for (name, p) in zip(c.positions, crosswalkOffsetProbabilities) {
            guard let position = Position(rawValue: name) else { continue }
            offset[position] = Double(p)
        }
        let crosswalk = CrosswalkEvidence(
            presence: Double(crosswalkProbability), offset: offset, headingDegrees: Double(crosswalkHeadingDegrees))

        return Perception(time: time, light: light, crosswalk: crosswalk, obstacles: obstacleDetections(c), description: description)
    }
}

extension SceneTrackerConfig {
    /// The tracker's settings for `model` at about `frameRate` frames a second.
    ///
    /// A frame may only count towards a green run at the model's own green operating threshold
    /// when that is stricter than the tracker's: consecutive frames of a still scene are nearly
    /// identical, so a run of frames is no stronger evidence than one frame, and the threshold
    /// calibrated for one frame must hold for each (safety rule 1). Freshness allows at least
    /// one and a half frame intervals, so a slow frame rate is not mistaken for a stalled camera.
    public static func tuned(for c: ModelConfiguration, frameRate: Double? = nil) -> SceneTrackerConfig {
        var config = SceneTrackerConfig()
        let green = c.signalExpert.map(\.thresholds.green) ?? Double(c.thresholds.green)
        config.greenFrameProbability = max(config.greenFrameProbability, green)
        if let frameRate, frameRate > 0 {
            config.freshness.maxAge = max(config.freshness.maxAge, 1.5 / frameRate)
        }
        return config
    }
}

extension SignalDecision {
    /// The decision as the tracker's evidence. Only a frame decided green carries its green
    /// mass; red and yellow frames carry none (they can never count towards a walk signal), and
    /// an unknown frame is flat, so it can neither confirm green nor hold any state.
    public var evidence: LightEvidence {
        let state: LightStateProbabilities
        switch self.state {
        case .none:
            state = .certain(.none, confidence: confidence)
        case .green:
            state = LightStateProbabilities(none: masses.none, red: masses.red, green: masses.green, yellow: masses.yellow)
        case .red, .yellow:
            state = LightStateProbabilities(none: masses.none, red: masses.red, green: 0, yellow: masses.yellow)
        default:
            let flat = 1.0 / Double(FrameLightClass.allCases.count)
            state = LightStateProbabilities(none: flat, red: flat, green: flat, yellow: flat, off: flat)
        }
        return LightEvidence(
            state: state, pedestrianProbability: kind == .vehicle ? 0 : 1, position: position,
            countdown: secondsLeft.map { LightEvidence.Countdown(state: self.state, seconds: $0) },
            seenWithoutColour: reason == .noColour)
    }
}
