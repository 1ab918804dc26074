import Foundation
import Vision

/// Finds the crossing and obstacle sentences of a description that its own facts deny: the
/// contradiction issue 15 counted in the daemon (546 of 2,497 facts events), where the decoder's
/// caption said "Crosswalk ahead, slightly right." while the facts held no crosswalk.
///
/// Written from the caption templates (training/lttw/captions.py), not from `CaptionGuard`'s
/// backed sentences, so that it checks the guard instead of repeating it: a sentence that names
/// a crosswalk is denied unless the facts hold one on that side; a sentence that names an
/// obstacle is denied unless the facts hold that kind on that side at that distance.
enum CaptionContradictions {
    /// The facts as the daemon's JSON gives them (`facts` of a facts event or of /facts).
    struct Facts {
        var crosswalkSide: String?
        var obstacles: [(kind: String, position: String, distance: String)]

        init(json facts: [String: Any]) {
            let crosswalk = facts["crosswalk"] as? [String: Any]
            crosswalkSide = crosswalk?["present"] as? Bool == true ? crosswalk?["offset"] as? String : nil
            obstacles = (facts["obstacles"] as? [[String: Any]] ?? []).map {
                ($0["kind"] as? String ?? "", $0["position"] as? String ?? "", $0["distance"] as? String ?? "")
            }
        }
    }

    /// The sentences of `text` that `facts` deny.
    static func denied(in text: String, facts: Facts) -> [String] {
        CaptionGuard.sentences(of: text).filter { sentence in
            if sentence.contains("Crosswalk") || sentence.contains("crosswalk") || sentence.contains("人行横道") {
                return facts.crosswalkSide != side(of: sentence)
            }
            if let kind = obstacleKind(in: sentence) {
                return !facts.obstacles.contains {
                    $0.kind == kind && $0.position == side(of: sentence) && $0.distance == distance(in: sentence)
                }
            }
            return false
        }
    }

    /// The denied sentences of one facts event's JSON (`data` of an `event: facts`).
    static func denied(inEvent data: String) -> [String] {
        guard let event = try? JSONSerialization.jsonObject(with: Data(data.utf8)) as? [String: Any],
              let facts = event["facts"] as? [String: Any] else { return ["unreadable event: \(data)"] }
        return denied(in: facts["description"] as? String ?? "", facts: Facts(json: facts))
    }

    static func side(of sentence: String) -> String {
        if sentence.contains("left") || sentence.contains("左") { return "left" }
        if sentence.contains("right") || sentence.contains("右") { return "right" }
        return "ahead"
    }

    static func distance(in sentence: String) -> String {
        if sentence.contains(", close") || sentence.contains("很近") { return "near" }
        if sentence.contains(", far") || sentence.contains("较远") { return "far" }
        return "mid"
    }

    /// The obstacle a caption sentence names: "Car on your right, close." or "右侧有汽车，很近。".
    static func obstacleKind(in sentence: String) -> String? {
        for (kind, english) in ObstacleNames.english where sentence.hasPrefix(english + " ") { return kind }
        for (kind, mandarin) in ObstacleNames.mandarin where sentence.contains("有" + mandarin) { return kind }
        return nil
    }
}
