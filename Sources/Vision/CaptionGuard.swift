/// Keeps only the caption sentences the facts back (DESIGN.md safety rule 5).
///
/// The decoder writes sentences from a closed set of templates (training/lttw/captions.py): a
/// crosswalk and where it is, an obstacle with its side and distance, the signal. Its guess from
/// one frame may disagree with the heads or the tracker — "Crosswalk ahead, slightly right."
/// where the crosswalk head says there is none — and a blind pedestrian told of a crossing may
/// step into the road. So a sentence survives only when it is, word for word, the sentence the
/// facts themselves would give (either language); anything else — a crosswalk or obstacle the
/// facts do not hold, one on another side or at another distance, every signal sentence (only
/// the heads or the tracker state the light), free text — is dropped.
public enum CaptionGuard {
    /// `caption` without the sentences `crosswalk` and `obstacles` do not back.
    public static func supported(_ caption: String, crosswalk: SceneFacts.Crosswalk?, obstacles: [SceneFacts.Obstacle]) -> String {
        let backed = backedSentences(crosswalk: crosswalk, obstacles: obstacles)
        let kept = sentences(of: caption).filter { backed.contains($0) }
        let mandarin = kept.contains { $0.hasSuffix("。") }
        return kept.joined(separator: mandarin ? "" : " ")
    }

    /// The sentences of `caption` that claim a crossing or an obstacle the facts do not back:
    /// what `supported` drops other than signal sentences and free text. `listen eval --captions`
    /// counts them in the decoder's raw captions, where they measure how far the decoder and the
    /// heads disagree, and in the final descriptions, where there must be none.
    public static func unbackedClaims(_ caption: String, crosswalk: SceneFacts.Crosswalk?, obstacles: [SceneFacts.Obstacle]) -> [String] {
        let backed = backedSentences(crosswalk: crosswalk, obstacles: obstacles)
        return sentences(of: caption).filter { !backed.contains($0) && claimsCrossingOrObstacle($0) }
    }

    /// The sentences of `caption` that state a light (its state, kind or side, or that none is in
    /// view) other than `light`'s: a caption that says "Walk signal on." where the frame's light is
    /// unknown. (Speech never takes the light from a caption; this measures the decoder.)
    public static func unbackedLightClaims(_ caption: String, light: SceneFacts.Light?) -> [String] {
        let state = light?.state ?? .none
        var backed = Set<String>()
        for mandarin in [false, true] {
            if state == .none {
                backed.insert(CaptionTemplates.noSignal(mandarin: mandarin))
            } else {
                backed.formUnion(CaptionTemplates.light(state, kind: light?.kind, position: light?.position, mandarin: mandarin))
            }
        }
        return sentences(of: caption).filter { !backed.contains($0) && lightSentences.contains($0) }
    }

    /// Whether a light sentence announces a walk signal or a green light.
    public static func announcesGreen(_ sentence: String) -> Bool {
        greenSentences.contains(sentence)
    }

    static let greenSentences = templates(of: [.green])

    /// Every sentence the captions use for a light, both languages.
    static let lightSentences = templates(of: LightState.allCases)
        .union([CaptionTemplates.noSignal(mandarin: false), CaptionTemplates.noSignal(mandarin: true)])

    /// The light sentences of `states`, every kind and side, both languages.
    static func templates(of states: [LightState]) -> Set<String> {
        var all = Set<String>()
        for mandarin in [false, true] {
            for state in states {
                for kind in LightKind.allCases {
                    for position in Position.allCases {
                        all.formUnion(CaptionTemplates.light(state, kind: kind, position: position, mandarin: mandarin))
                    }
                }
            }
        }
        return all
    }

    /// Whether a sentence speaks of a crossing or an obstacle (the captions' templates: the
    /// crosswalk sentences, and an obstacle's name first in English, after its side in Mandarin).
    static func claimsCrossingOrObstacle(_ sentence: String) -> Bool {
        sentence.hasPrefix("Crosswalk") || sentence.contains("人行横道")
            || ObstacleNames.english.values.contains { sentence.hasPrefix($0 + " ") }
            || ObstacleNames.mandarin.values.contains { sentence.contains("有" + $0) }
    }

    /// The sentences, trimmed, each with its closing mark.
    public static func sentences(of caption: String) -> [String] {
        var result: [String] = []
        var current = ""
        for character in caption {
            current.append(character)
            if ".!?。！？".contains(character) {
                result.append(current.trimmingSpaces)
                current = ""
            }
        }
        if !current.trimmingSpaces.isEmpty { result.append(current.trimmingSpaces) }
        return result.filter { !$0.isEmpty }
    }

    /// What captions.py writes for these facts, in English and Mandarin.
    static func backedSentences(crosswalk: SceneFacts.Crosswalk?, obstacles: [SceneFacts.Obstacle]) -> Set<String> {
        Set([Language.english, .mandarin].flatMap { factSentences(crosswalk: crosswalk, obstacles: obstacles, mandarin: $0 == .mandarin) })
    }

    /// The sentences captions.py writes for these facts in one language, crosswalk first, then the
    /// obstacles in their order: what a description says of the facts when the caption did not.
    public static func factSentences(crosswalk: SceneFacts.Crosswalk?, obstacles: [SceneFacts.Obstacle], mandarin: Bool) -> [String] {
        var sentences: [String] = []
        if let crosswalk, crosswalk.present, let offset = crosswalk.offset {
            sentences.append(CaptionTemplates.crosswalk(offset, mandarin: mandarin))
        }
        for obstacle in obstacles {
            guard let sentence = CaptionTemplates.obstacle(
                kind: obstacle.kind, position: obstacle.position, distance: obstacle.distance, mandarin: mandarin)
            else { continue }
            sentences.append(sentence)
        }
        return sentences
    }

    /// The two languages of the captions.
    enum Language { case english, mandarin }
}

extension String {
    fileprivate var trimmingSpaces: String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}
