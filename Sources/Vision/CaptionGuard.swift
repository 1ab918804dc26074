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
            switch offset {
            case .left: sentences.append(mandarin ? "前方人行横道，略偏左。" : "Crosswalk ahead, slightly left.")
            case .ahead: sentences.append(mandarin ? "前方人行横道。" : "Crosswalk ahead.")
            case .right: sentences.append(mandarin ? "前方人行横道，略偏右。" : "Crosswalk ahead, slightly right.")
            }
        }
        for obstacle in obstacles {
            guard let english = ObstacleNames.english[obstacle.kind], let name = ObstacleNames.mandarin[obstacle.kind] else { continue }
            if mandarin {
                let side = ["left": "左侧", "ahead": "前方", "right": "右侧"][obstacle.position.rawValue]!
                let tail = ["near": "，很近", "mid": "", "far": "，较远"][obstacle.distance.rawValue]!
                sentences.append("\(side)有\(name)\(tail)。")
            } else {
                let place = ["left": "on your left", "ahead": "ahead", "right": "on your right"][obstacle.position.rawValue]!
                let tail = ["near": ", close", "mid": "", "far": ", far"][obstacle.distance.rawValue]!
                sentences.append("\(english) \(place)\(tail).")
            }
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
