import Foundation
import Vision

/// One line of a labelled-scenes set's labels.jsonl (DESIGN.md). Missing or null fields are
/// "not labelled" and are not scored.
public struct LabelledScene: Sendable, Decodable {
    public var file: String
    public var pedestrianLight: String?
    public var lightKind: String?
    public var crosswalk: String?
    public var obstacles: [LabelledObstacle]?
    /// The set's own split (`train` / `val` in ../shared/train/real), when it has one.
    public var split: String?
    /// The lit countdown beside the signal, in generated sets (lttw.generator.Scene.countdown).
    public var countdown: LabelledCountdown?
    /// The scene facts a generated label carries; only the crossing's are read.
    public var facts: LabelledFacts?
    /// A real photo's crossing side, from its largest crossing box (left, center, right).
    public var crosswalkPosition: String?

    /// The labelled side of the crossing (left, ahead, right): a generated label's offset, or a
    /// real photo's `crosswalk_position` with "center" as ahead (lttw.evaluate.crossing_side).
    public var crossingSide: String? {
        facts?.crosswalkOffset ?? crosswalkPosition.map { $0 == "center" ? "ahead" : $0 }
    }

    /// A generated label's crossing beyond yes and no: its side and the share of the frame its
    /// stripes cover (lttw.generator's `conditions.crosswalk_seen_fraction`), for the crossing
    /// breakdown. A field of another shape is left unread rather than failing the set.
    public struct LabelledFacts: Sendable, Decodable {
        public var crosswalkOffset: String?
        public var crosswalkSeenFraction: Double?

        private enum Keys: String, CodingKey { case crosswalk, conditions }
        private enum CrosswalkKeys: String, CodingKey { case offset }
        private enum ConditionKeys: String, CodingKey { case crosswalkSeenFraction }

        public init(from decoder: any Decoder) throws {
            guard let facts = try? decoder.container(keyedBy: Keys.self) else { return }
            crosswalkOffset = try? facts.nestedContainer(keyedBy: CrosswalkKeys.self, forKey: .crosswalk)
                .decodeIfPresent(String.self, forKey: .offset)
            crosswalkSeenFraction = try? facts.nestedContainer(keyedBy: ConditionKeys.self, forKey: .conditions)
                .decodeIfPresent(Double.self, forKey: .crosswalkSeenFraction)
        }
    }

    public struct LabelledCountdown: Sendable, Decodable {
        public var seconds: Int
        /// The digits' box in image pixels (x0, y0, x1, y1), not clipped to the frame.
        public var box: [Double]
    }

    public struct LabelledObstacle: Sendable, Decodable {
        public var kind: String?
        public var `class`: String?
        public var position: String?
    }

    /// One line of labels.jsonl (its keys snake_case, as DESIGN.md writes them).
    public static func decode(_ line: some StringProtocol) throws -> LabelledScene {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(LabelledScene.self, from: Data(line.utf8))
    }

    /// Reads labels.jsonl; a bad line is an error naming the file and line.
    public static func load(set folder: URL) throws -> [LabelledScene] {
        let url = folder.appendingPathComponent("labels.jsonl")
        guard let text = try? String(contentsOf: url, encoding: .utf8) else {
            throw EvaluationError.missingLabels(url.path)
        }
        var scenes: [LabelledScene] = []
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
        where !line.trimmingCharacters(in: .whitespaces).isEmpty {
            let scene: LabelledScene
            do {
                scene = try decode(line)
            } catch {
                throw EvaluationError.badLine(url.path, number + 1, "\(error)")
            }
            // A light the scorer does not know would leave the frame out of the false-green
            // rate without a word ("Red", "off"): refused, as lttw.evaluate.read_labels does.
            if let light = scene.pedestrianLight, !Evaluation.truthClasses.contains(light) {
                throw EvaluationError.badLine(
                    url.path, number + 1,
                    "pedestrian_light \"\(light)\" is none of \(Evaluation.truthClasses.joined(separator: ", ")) (null: not labelled)")
            }
            scenes.append(scene)
        }
        guard !scenes.isEmpty else { throw EvaluationError.emptySet(url.path) }
        return scenes
    }
}

public enum EvaluationError: Error, CustomStringConvertible {
    case missingLabels(String)
    case badLine(String, Int, String)
    case emptySet(String)

    public var description: String {
        switch self {
        case .missingLabels(let path): "\(path): no labels file (a labelled-scenes set has images and labels.jsonl)"
        case .badLine(let path, let line, let reason): "\(path):\(line): not a labelled scene: \(reason)"
        case .emptySet(let path): "\(path): no labelled scenes"
        }
    }
}

/// Scores per-frame facts against labels with exactly the definitions of training/lttw/evaluate.py,
/// so the Swift and Python figures can be compared. The false-green rate comes first:
/// predicted green while the truth is red, yellow or off_or_none, over the labelled non-green items.
public struct Evaluation: Sendable {
    public static let truthClasses = ["red", "green", "yellow", "off_or_none"]
    public static let predictedClasses = truthClasses + ["unknown"]
    static let kindAliases = ["tree_trunk": "tree", "movable_signage": "sign", "traffic_sign": "pole", "bike": "bicycle",
                              "pedestrian": "person", "trash_can": "bin", "bus": "car", "truck": "car"]
    static let positionAliases = ["center": "ahead", "centre": "ahead", "middle": "ahead", "front": "ahead"]

    /// [truth][prediction] counts, rows `truthClasses`, columns `predictedClasses`.
    public private(set) var confusion = Array(repeating: Array(repeating: 0, count: 5), count: 4)
    public private(set) var n = 0
    public private(set) var falseGreens: [String] = []
    public private(set) var nonGreen = 0
    public private(set) var crosswalkLabelled = 0
    public private(set) var crosswalkCorrect = 0
    /// Crossings by side and by the share of the frame they cover, and frames without one (the
    /// keys "side: left", "share of frame: under 3 %", "none: labelled absent"), as
    /// lttw.evaluate.crosswalk_breakdown: small crossings are where the scene model's input runs out.
    public private(set) var crosswalkBy: [String: CrossingTally] = [:]
    /// Labelled crossings the model found whose side is labelled, and how many it put on that side.
    public private(set) var crosswalkSideScored = 0
    public private(set) var crosswalkSideRight = 0

    /// Labelled crossings (or frames without one) of one key, and how many were said right.
    public struct CrossingTally: Sendable, Hashable {
        public var labelled = 0
        public var right = 0

        public init(labelled: Int = 0, right: Int = 0) {
            self.labelled = labelled
            self.right = right
        }

        public var accuracy: Double? { labelled > 0 ? Double(right) / Double(labelled) : nil }
    }

    /// The shares of the frame a crossing's stripes cover that the breakdown bins by, small to large.
    public static let crossingShares: [(below: Double, name: String)] = [
        (0.03, "under 3 %"), (0.08, "3-8 %"), (.infinity, "8 % or more"),
    ]

    /// The breakdown's keys in report order: frames without a crossing, the shares small to large,
    /// then the sides.
    public var crosswalkByInOrder: [(key: String, tally: CrossingTally)] {
        func rank(_ key: String) -> (Int, String) {
            if key.hasPrefix("none") { return (0, key) }
            if let share = Self.crossingShares.firstIndex(where: { "share of frame: \($0.name)" == key }) { return (1 + share, key) }
            return (1 + Self.crossingShares.count, key)
        }
        return crosswalkBy.sorted { rank($0.key) < rank($1.key) }.map { ($0.key, $0.value) }
    }
    public private(set) var obstaclesMatched = 0
    public private(set) var obstaclesLabelled = 0
    public private(set) var obstaclesPredicted = 0
    /// Obstacles by kind and by position (the keys "kind car", "position left", …): a few labels
    /// per kind on a real set, so the totals alone hide which kinds the model never finds.
    public private(set) var obstaclesBy: [String: ObstacleTally] = [:]

    /// Labels and predictions of one kind or one position, and how many of each were matched.
    public struct ObstacleTally: Sendable, Hashable {
        public var labelled = 0
        public var labelsFound = 0
        public var predicted = 0
        public var predictionsRight = 0

        public var recall: Double? { labelled > 0 ? Double(labelsFound) / Double(labelled) : nil }
        public var precision: Double? { predicted > 0 ? Double(predictionsRight) / Double(predicted) : nil }
    }

    /// Captions scored (`addCaption`), and how many contradict the frame's facts: the caption
    /// the product decodes (held to the facts, `CaptionConstraint`), the decoder's own when
    /// left free, and the description that is spoken. A contradiction is a crossing or an
    /// obstacle the facts do not back, or (captions only) a light other than the facts'.
    public private(set) var captionsScored = 0
    public private(set) var captionContradictions = ContradictionTally()
    public private(set) var freeCaptionContradictions = ContradictionTally()
    public private(set) var spokenContradictions = 0

    /// Captions claiming a crossing or obstacle the facts deny, and captions stating another light.
    public struct ContradictionTally: Sendable, Hashable {
        public var crossingOrObstacle = 0
        public var light = 0
        /// Of `light`: captions announcing a walk or green light where the facts hold none (the
        /// false green of a caption; speech never takes the light from one).
        public var green = 0
        /// Captions with either.
        public var any = 0
    }
    /// Files whose light decision was wrong, for the report.
    public private(set) var lightMistakes: [(file: String, truth: String, predicted: String)] = []
    /// Why the light was left unknown, by labelled truth: [truth: [reason: frames]]. Abstentions
    /// are the largest share of the light errors; this names the rule that held each one back
    /// (lttw.signal_breakdown's `unknown_why`, for every source at once).
    public private(set) var unknownWhy: [String: [String: Int]] = [:]

    /// The reason recorded for an unknown light whose decision states none (the scene heads',
    /// say). A flashing light, said as unknown too, is tallied as "flashing".
    public static let unstatedReason = "unsure"

    public init() {}

    /// Scores one scene; `imageSize` (width, height) decides whether a labelled countdown is
    /// shown (its digits wholly inside the frame), as evaluate.countdown_tally does.
    /// `unknownReason` is why the light was left unknown, when it was (`SignalDecision.reason`).
    public mutating func add(
        _ scene: LabelledScene, _ facts: SceneFacts, imageSize: (width: Int, height: Int)? = nil, unknownReason: String? = nil
    ) {
        n += 1
        countdown.add(scene.countdown, facts.light, imageSize: imageSize)
        let state = facts.light?.state ?? .none
        let predicted = switch state {
        case .none, .off: "off_or_none"
        case .red: "red"
        case .green: "green"
        case .yellow: "yellow"
        case .flashing, .unknown: "unknown"
        }
        if let truth = scene.pedestrianLight, let row = Self.truthClasses.firstIndex(of: truth) {
            confusion[row][Self.predictedClasses.firstIndex(of: predicted)!] += 1
            if truth != predicted { lightMistakes.append((scene.file, truth, predicted)) }
            if predicted == "unknown" {
                let reason = state == .flashing ? "flashing" : unknownReason ?? Self.unstatedReason
                unknownWhy[truth, default: [:]][reason, default: 0] += 1
            }
            if truth != "green" {
                nonGreen += 1
                if predicted == "green" { falseGreens.append(scene.file) }
            }
        }
        addCrossing(scene, facts.crosswalk)
        if let labelled = scene.obstacles {
            var used = Array(repeating: false, count: facts.obstacles.count)
            for obstacle in labelled {
                let rawKind = obstacle.kind.flatMap { $0.isEmpty ? nil : $0 } ?? obstacle.class ?? ""
                let kind = Self.kindAliases[rawKind] ?? rawKind
                let position = obstacle.position.map { Self.positionAliases[$0] ?? $0 }
                let match = facts.obstacles.indices.first(where: { index in
                    !used[index] && facts.obstacles[index].kind == kind
                        && (position == nil || facts.obstacles[index].position.rawValue == position)
                })
                if let match {
                    used[match] = true
                    obstaclesMatched += 1
                }
                // A label without a kind or a position is tallied only under what it has (as
                // lttw.evaluate.obstacle_breakdown does).
                for key in (kind.isEmpty ? [] : ["kind \(kind)"]) + (position.map { ["position \($0)"] } ?? []) {
                    obstaclesBy[key, default: ObstacleTally()].labelled += 1
                    obstaclesBy[key, default: ObstacleTally()].labelsFound += match == nil ? 0 : 1
                }
            }
            for (index, obstacle) in facts.obstacles.enumerated() {
                for key in ["kind \(obstacle.kind)", "position \(obstacle.position.rawValue)"] {
                    obstaclesBy[key, default: ObstacleTally()].predicted += 1
                    obstaclesBy[key, default: ObstacleTally()].predictionsRight += used[index] ? 1 : 0
                }
            }
            obstaclesLabelled += labelled.count
            obstaclesPredicted += facts.obstacles.count
        }
    }

    /// Scores the crossing: presence over every labelled frame, the breakdown by side and share of
    /// the frame, and the side of each labelled crossing the model found.
    private mutating func addCrossing(_ scene: LabelledScene, _ said: SceneFacts.Crosswalk?) {
        guard let truth = scene.crosswalk, truth == "yes" || truth == "no" else { return }
        let present = truth == "yes"
        let right = present == (said?.present ?? false)
        crosswalkLabelled += 1
        if right { crosswalkCorrect += 1 }
        var keys = ["none: labelled absent"]
        if present {
            let side = scene.crossingSide
            keys = side.map { ["side: \($0)"] } ?? []
            if let share = scene.facts?.crosswalkSeenFraction, let bin = Self.crossingShares.first(where: { share < $0.below }) {
                keys.append("share of frame: \(bin.name)")
            }
            if let side, let said, said.present {
                crosswalkSideScored += 1
                if said.offset?.rawValue == side { crosswalkSideRight += 1 }
            }
        }
        for key in keys {
            crosswalkBy[key, default: .init()].labelled += 1
            if right { crosswalkBy[key, default: .init()].right += 1 }
        }
    }

    /// Scores one caption against the frame's own facts (DESIGN.md rule 5: nothing spoken may
    /// contradict the facts). `caption` is the caption held to the facts, `free` the decoder's
    /// own, `spoken` the description built from `caption` and the facts.
    public mutating func addCaption(caption: String, free: String, spoken: String, facts: SceneFacts) {
        captionsScored += 1
        func tally(_ text: String, into tally: inout ContradictionTally) {
            let claims = !CaptionGuard.unbackedClaims(text, crosswalk: facts.crosswalk, obstacles: facts.obstacles).isEmpty
            let lightClaims = CaptionGuard.unbackedLightClaims(text, light: facts.light)
            let light = !lightClaims.isEmpty
            if claims { tally.crossingOrObstacle += 1 }
            if light { tally.light += 1 }
            if lightClaims.contains(where: CaptionGuard.announcesGreen) { tally.green += 1 }
            if claims || light { tally.any += 1 }
        }
        tally(caption, into: &captionContradictions)
        tally(free, into: &freeCaptionContradictions)
        if !CaptionGuard.unbackedClaims(spoken, crosswalk: facts.crosswalk, obstacles: facts.obstacles).isEmpty {
            spokenContradictions += 1
        }
    }

    /// The countdown read beside the signal (evaluate.countdown_metrics).
    public private(set) var countdown = CountdownTally()

    public struct CountdownTally: Sendable, Hashable {
        /// Labelled countdowns wholly inside the frame, and how they were said.
        public var shown = 0
        public var right = 0
        public var wrong = 0
        public var notSaid = 0
        /// Seconds said on a scene that shows no countdown.
        public var saidWithoutOne = 0
        /// Shown countdowns whose light was said red or green (the only ones it is read beside),
        /// and of those, read right.
        public var shownWithLightSaid = 0
        public var rightWithLightSaid = 0

        public var accuracyOfShown: Double? { shown > 0 ? Double(right) / Double(shown) : nil }
        public var accuracyWhereLightSaid: Double? { shownWithLightSaid > 0 ? Double(rightWithLightSaid) / Double(shownWithLightSaid) : nil }

        mutating func add(_ label: LabelledScene.LabelledCountdown?, _ light: SceneFacts.Light?, imageSize: (width: Int, height: Int)?) {
            let said = light?.secondsLeft
            if let label, let size = imageSize, label.box.count == 4, label.box[0] >= 0, label.box[1] >= 0,
               label.box[2] <= Double(size.width), label.box[3] <= Double(size.height) {
                shown += 1
                switch said {
                case nil: notSaid += 1
                case label.seconds: right += 1
                default: wrong += 1
                }
                if light?.state == .red || light?.state == .green {
                    shownWithLightSaid += 1
                    if said == label.seconds { rightWithLightSaid += 1 }
                }
            } else if said != nil {
                saidWithoutOne += 1
            }
        }
    }

    public var lightLabelled: Int { confusion.reduce(0) { $0 + $1.reduce(0, +) } }
    public var falseGreenRate: Double? { nonGreen > 0 ? Double(falseGreens.count) / Double(nonGreen) : nil }
    public var lightAccuracy: Double? {
        lightLabelled > 0 ? Double((0..<4).reduce(0) { $0 + confusion[$1][$1] }) / Double(lightLabelled) : nil
    }
    public var abstentionRate: Double? {
        lightLabelled > 0 ? Double(confusion.reduce(0) { $0 + $1[4] }) / Double(lightLabelled) : nil
    }
    public var crosswalkAccuracy: Double? {
        crosswalkLabelled > 0 ? Double(crosswalkCorrect) / Double(crosswalkLabelled) : nil
    }
    public var crosswalkSideAccuracy: Double? {
        crosswalkSideScored > 0 ? Double(crosswalkSideRight) / Double(crosswalkSideScored) : nil
    }
    public var obstacleRecall: Double? { obstaclesLabelled > 0 ? Double(obstaclesMatched) / Double(obstaclesLabelled) : nil }
    public var obstaclePrecision: Double? { obstaclesPredicted > 0 ? Double(obstaclesMatched) / Double(obstaclesPredicted) : nil }

    /// Precision and recall of one truth class (nil where undefined).
    public func precisionRecall(_ index: Int) -> (precision: Double?, recall: Double?, support: Int) {
        let truePositives = confusion[index][index]
        let predicted = confusion.reduce(0) { $0 + $1[index] }
        let support = confusion[index].reduce(0, +)
        return (predicted > 0 ? Double(truePositives) / Double(predicted) : nil,
                support > 0 ? Double(truePositives) / Double(support) : nil, support)
    }
}
