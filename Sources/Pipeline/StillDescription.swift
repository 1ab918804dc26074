import Fusion
import Narrator
import Vision

/// The description of a single still image: the light as the heads decided it (with the green
/// threshold, and "signal unclear" when unsure), then only those sentences of the decoder's
/// caption that the facts back (`CaptionGuard`): free text from the decoder can never announce a
/// walk signal, a crossing or an obstacle the heads did not see (DESIGN.md safety rules 1, 3, 5).
public enum StillDescription {
    public static func compose(facts: SceneFacts, caption: String, language: Language) -> String {
        let phrasebook = Phrasebook(language: language)
        var parts: [String] = []
        if let light = facts.light, light.state != .none {
            parts.append(phrasebook.text(for: .light(status(of: light.state), light.kind ?? .pedestrian)))
        }
        let rest = CaptionGuard.supported(caption, crosswalk: facts.crosswalk, obstacles: facts.obstacles)
        if !rest.isEmpty { parts.append(rest) }
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
