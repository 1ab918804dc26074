import Fusion
import Narrator
import Vision

/// The description of a single still image: the light as the heads decided it (with the green
/// threshold, and "signal unclear" when unsure), then only those sentences of the decoder's
/// caption that the facts back (`CaptionGuard`): free text from the decoder can never announce a
/// walk signal, a crossing or an obstacle the heads did not see (DESIGN.md safety rules 1, 3, 5).
/// The crossing and the obstacles the facts hold and the caption left out follow, in the
/// captions' own words: the obstacle expert finds what the decoder, which reads the scene
/// encoder, does not, and a wearer must hear what is in the way.
public enum StillDescription {
    /// Obstacles said at most: near before far, ahead before beside, then the more confident,
    /// the order the scene tracker reports them in (what the wearer would walk into first).
    public static let maxObstacles = 3

    static func saidFirst(_ a: SceneFacts.Obstacle, _ b: SceneFacts.Obstacle) -> Bool {
        let distance: [Distance] = [.near, .mid, .far]
        let position: [Position] = [.ahead, .left, .right]
        let keyA = (distance.firstIndex(of: a.distance)!, position.firstIndex(of: a.position)!)
        let keyB = (distance.firstIndex(of: b.distance)!, position.firstIndex(of: b.position)!)
        return keyA != keyB ? keyA < keyB : a.confidence > b.confidence
    }

    /// `lightStatus`: the tracker's status (or a still's, `FrameReading.lightStatus`) where it says
    /// more than the facts' state, such as why the light is unknown; the words are then the ones the
    /// wearer hears. Ignored where it does not match the facts' state.
    public static func compose(facts: SceneFacts, caption: String, language: Language, lightStatus: LightStatus? = nil) -> String {
        let phrasebook = Phrasebook(language: language)
        var parts: [String] = []
        if let light = facts.light, light.state != .none {
            let status = lightStatus.flatMap { $0.factsState == light.state ? $0 : nil } ?? status(of: light.state)
            parts.append(phrasebook.text(for: .light(status, light.kind ?? .pedestrian), secondsLeft: light.secondsLeft))
        }
        let rest = CaptionGuard.supported(caption, crosswalk: facts.crosswalk, obstacles: facts.obstacles)
        if !rest.isEmpty { parts.append(rest) }
        let kept = Set(CaptionGuard.sentences(of: rest))
        let obstacles = Array(facts.obstacles.sorted(by: saidFirst).prefix(maxObstacles))
        for sentence in CaptionGuard.factSentences(crosswalk: facts.crosswalk, obstacles: obstacles, mandarin: language == .mandarin)
        where !kept.contains(sentence) {
            parts.append(sentence)
        }
        if parts.isEmpty { parts.append(phrasebook.text(for: .light(.none, .pedestrian))) }
        return parts.joined(separator: language == .english ? " " : "")
    }

    static func status(of state: LightState) -> LightStatus {
        switch state {
        case .red: .red
        case .green: .green
        case .yellow: .yellow
        case .flashing: .flashing
        case .off: .off
        case .none: .none
        case .unknown: .unclear
        }
    }
}

extension FrameReading {
    /// The still's light status where it says more than its facts' state: a light unknown because
    /// the frame shows no colour is said as such (signal_model.no_colour), so the wearer knows the
    /// camera, not the street, is what to see to.
    public var lightStatus: LightStatus? {
        signal?.reason == .noColour ? .noColour : nil
    }
}
