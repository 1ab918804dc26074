import ArgumentParser
import Foundation
import Imaging
import Narrator
import Pipeline
import Vision

/// `listen eval`: the model on a labelled-scenes set, false-green rate first.
struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Score the model on a labelled-scenes set (images + labels.jsonl); the false-green rate comes first.",
        discussion: """
            Runs every labelled image through the engine and scores the per-frame facts with the \
            definitions of training/lttw/evaluate.py, so the figures agree with the Python \
            evaluator. False green: the model says green while the label is red, yellow or \
            off_or_none, over all labelled non-green items; "says green" is the signal expert's \
            decided walk (its green threshold, no red lamp in view, its confirmation views and \
            its verifier), or, for a model without one, the heads' green at p ≥ the operating \
            threshold. An image that cannot be read is left out of every figure, named, counted \
            under "scenes" and makes the exit status 1. Abstentions \
            ("unknown") count as wrong in the light accuracy, and are tallied by truth under the \
            rule that held each one back ("green below threshold", "a red lamp in view", ...; \
            unknown_why in --json). Crossings are broken down by side and, on generated sets, \
            by the share of the frame the crossing covers (crosswalk_by); obstacles by kind and \
            position (obstacles_by). Only labelled fields are scored.

            Examples:
              listen eval ../shared/eval/real-dev
              listen eval --json some-set/
              listen eval --report report/ some-set/      markdown report and pictures of mistakes
              listen eval --split val ../shared/train/real  only the rows of one split
              listen eval --captions both some-set/       also caption every frame and count \
            contradictions

            With --captions, every frame is also captioned (greedy) and the caption scored \
            against the frame's own facts (DESIGN.md rule 5): how many captions claim a \
            crossing or an obstacle the facts do not back or state another light (the \
            decoder is held to the facts' sentences, so none should), how many spoken \
            descriptions do, and, for comparison, how many the decoder writes when left free.
            """
    )

    @Argument(help: "A labelled-scenes folder.", completion: .directory)
    var set: String

    @OptionGroup var modelOptions: ModelOptions

    @Flag(help: "Print one JSON object with the metrics.")
    var json = false

    @Option(help: ArgumentHelp("Write report.md, metrics.json and overlays of the light mistakes here.", valueName: "dir"))
    var report: String?

    @Option(help: ArgumentHelp("Score only the rows whose `split` field is this (e.g. val).", valueName: "name"))
    var split: String?

    @Option(help: ArgumentHelp("Also caption every frame in this language (en, zh or both) and count caption–facts contradictions.", valueName: "lang"))
    var captions: CaptionLanguages?

    enum CaptionLanguages: String, ExpressibleByArgument, CaseIterable {
        case en, zh, both

        var languages: [Language] {
            switch self {
            case .en: [.english]
            case .zh: [.mandarin]
            case .both: [.english, .mandarin]
            }
        }
    }

    func run() throws {
        let folder = URL(fileURLWithPath: set)
        let scenes: [LabelledScene]
        do { scenes = try LabelledScene.load(set: folder).filter { split == nil || $0.split == split } } catch {
            printError("\(error)")
            throw ExitCode.failure
        }
        if scenes.isEmpty, let split {
            printError("\(folder.appendingPathComponent("labels.jsonl").path): no row has split \"\(split)\"")
            throw ExitCode.failure
        }
        if let report {
            // Checked before the evaluation, not after it: a report that cannot be written should
            // not cost a whole run to find out.
            do {
                try OutputFolder.create(URL(fileURLWithPath: report).appendingPathComponent("mistakes").path)
            } catch {
                printError("\(report): cannot create the report folder (\(error.reason))")
                throw ExitCode.failure
            }
        }
        let model = try modelOptions.load()
        let stream = StreetModel.Stream(model)
        var evaluation = Evaluation()
        var failures = 0
        var factsByFile: [String: SceneFacts] = [:]
        var signalByFile: [String: SignalDecision] = [:]
        let progress = Progress(total: scenes.count, label: "eval")
        for scene in scenes {
            defer { progress.advance() }
            let path = folder.appendingPathComponent(scene.file).path
            do {
                let image = try Image.decode(file: path)
                try stream.readFrame(image)
                let reading = FrameReading(stream)
                let facts = reading.facts(time: 0, configuration: model.configuration)
                evaluation.add(scene, facts, imageSize: (image.width, image.height), unknownReason: stream.signalDecision?.reason?.rawValue)
                for language in captions?.languages ?? [] {
                    let caption = stream.caption(language)
                    evaluation.addCaption(
                        caption: caption, free: stream.caption(language, facts: .free),
                        spoken: StillDescription.compose(facts: facts, caption: caption, language: language, lightStatus: reading.lightStatus),
                        facts: facts)
                }
                if report != nil {
                    factsByFile[scene.file] = facts
                    signalByFile[scene.file] = stream.signalDecision
                }
            } catch {
                failures += 1
                progress.printInputError("\(error)")
            }
        }
        progress.finish()
        let metrics = metricsObject(evaluation, failures: failures)
        if json {
            let data = try JSONSerialization.data(withJSONObject: metrics, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(text(evaluation, failures: failures))
        }
        if let report {
            do {
                try writeReport(report, evaluation, metrics: metrics, facts: factsByFile, signals: signalByFile, folder: folder, failures: failures)
            } catch {
                printError("\(report): the report could not be written (\(error.localizedDescription))")
                throw ExitCode.failure
            }
        }
        if failures > 0 { throw ExitCode.failure }
    }

    private func metricsObject(_ e: Evaluation, failures: Int) -> [String: Any] {
        func value(_ x: Double?) -> Any { x ?? NSNull() }
        var perClass: [String: Any] = [:]
        for (i, name) in Evaluation.truthClasses.enumerated() {
            let r = e.precisionRecall(i)
            perClass[name] = ["precision": value(r.precision), "recall": value(r.recall), "support": r.support]
        }
        return [
            "false_green_rate": value(e.falseGreenRate), "false_green_count": e.falseGreens.count,
            "false_green_denominator": e.nonGreen, "light_accuracy": value(e.lightAccuracy),
            "crosswalk_accuracy": value(e.crosswalkAccuracy), "obstacle_recall": value(e.obstacleRecall),
            "obstacle_precision": value(e.obstaclePrecision), "abstention_rate": value(e.abstentionRate), "n": e.n,
            "light_per_class": perClass, "light_confusion": e.confusion, "unreadable_images": failures,
            "counts": ["light_labelled": e.lightLabelled, "crosswalk_labelled": e.crosswalkLabelled,
                       "obstacles_labelled": e.obstaclesLabelled],
            "countdown": [
                "shown": e.countdown.shown, "read_right": e.countdown.right, "read_wrong": e.countdown.wrong,
                "not_said": e.countdown.notSaid, "said_where_none_shown": e.countdown.saidWithoutOne,
                "accuracy_of_shown": value(e.countdown.accuracyOfShown),
                "accuracy_where_light_said": value(e.countdown.accuracyWhereLightSaid),
                "shown_with_light_said": e.countdown.shownWithLightSaid,
            ],
            "unknown_why": e.unknownWhy,
            "captions": ["scored": e.captionsScored, "contradictions": e.captionContradictions.any,
                         "light_contradictions": e.captionContradictions.light,
                         "false_green": e.captionContradictions.green,
                         "free_decoder_contradictions": e.freeCaptionContradictions.crossingOrObstacle,
                         "free_decoder_light_contradictions": e.freeCaptionContradictions.light,
                         "free_decoder_false_green": e.freeCaptionContradictions.green,
                         "spoken_contradictions": e.spokenContradictions],
            "crosswalk_side_accuracy": value(e.crosswalkSideAccuracy), "crosswalk_side_scored": e.crosswalkSideScored,
            "crosswalk_by": e.crosswalkBy.mapValues { t -> Any in
                ["accuracy": value(t.accuracy), "right": t.right, "labelled": t.labelled]
            },
            "obstacles_by": e.obstaclesBy.mapValues { t -> Any in
                ["recall": value(t.recall), "precision": value(t.precision), "labelled": t.labelled, "predicted": t.predicted]
            },
        ]
    }

    private func text(_ e: Evaluation, failures: Int) -> String {
        func pct(_ x: Double?) -> String { x.map { String(format: "%.2f %%", 100 * $0) } ?? "n/a" }
        var lines = [
            "false-green rate:   \(pct(e.falseGreenRate)) (\(e.falseGreens.count) of \(e.nonGreen) labelled non-green)",
            "light accuracy:     \(pct(e.lightAccuracy)) of \(e.lightLabelled) labelled (abstentions count as wrong)",
            "abstention rate:    \(pct(e.abstentionRate))",
        ]
        for (i, name) in Evaluation.truthClasses.enumerated() {
            let r = e.precisionRecall(i)
            lines.append("  \(name.padding(toLength: 12, withPad: " ", startingAt: 0)) precision \(pct(r.precision))  recall \(pct(r.recall))  (\(r.support) labelled)")
        }
        if !e.unknownWhy.isEmpty {
            lines.append("unknown, and why:")
            for truth in Evaluation.truthClasses {
                guard let reasons = e.unknownWhy[truth] else { continue }
                let said = reasons.sorted { ($1.value, $0.key) < ($0.value, $1.key) }.map { "\($0.key) \($0.value)" }
                lines.append("  \(truth.padding(toLength: 12, withPad: " ", startingAt: 0)) \(said.joined(separator: ", "))")
            }
        }
        lines.append("crosswalk accuracy: \(pct(e.crosswalkAccuracy)) of \(e.crosswalkLabelled) labelled"
                     + (e.crosswalkSideScored > 0
                        ? "; side \(pct(e.crosswalkSideAccuracy)) of the \(e.crosswalkSideScored) found with a labelled side" : ""))
        for (key, tally) in e.crosswalkByInOrder {
            lines.append("  \(key.padding(toLength: 28, withPad: " ", startingAt: 0)) \(pct(tally.accuracy)) of \(tally.labelled)")
        }
        lines.append("obstacles:          recall \(pct(e.obstacleRecall)), precision \(pct(e.obstaclePrecision)) (\(e.obstaclesLabelled) labelled)")
        for (key, tally) in e.obstaclesBy.sorted(by: { $0.key < $1.key }) {
            lines.append("  \(key.padding(toLength: 16, withPad: " ", startingAt: 0)) recall \(pct(tally.recall)) of \(tally.labelled), "
                         + "precision \(pct(tally.precision)) of \(tally.predicted)")
        }
        let c = e.countdown
        if c.shown > 0 || c.saidWithoutOne > 0 {
            lines.append("countdown:          \(c.right) of \(c.shown) shown read right (\(pct(c.accuracyOfShown)); "
                         + "\(pct(c.accuracyWhereLightSaid)) of the \(c.shownWithLightSaid) whose light is said red or green), "
                         + "\(c.wrong) wrong, \(c.saidWithoutOne) said where none is shown")
        }
        if e.captionsScored > 0 {
            let c = e.captionContradictions, free = e.freeCaptionContradictions
            lines.append("captions vs facts:  \(c.any) of \(e.captionsScored) captions contradict the facts; spoken: \(e.spokenContradictions)")
            lines.append("  decoder left free: \(free.crossingOrObstacle) claim a crossing or obstacle the facts deny, \(free.light) state another light (\(free.green) a walk or green light)")
        }
        lines.append("scenes:             \(e.n) scored\(failures > 0 ? ", \(failures) unreadable (left out of every figure above)" : "")")
        if !e.falseGreens.isEmpty { lines.append("false greens:       \(e.falseGreens.joined(separator: ", "))") }
        return lines.joined(separator: "\n")
    }

    private func writeReport(
        _ path: String, _ e: Evaluation, metrics: [String: Any], facts: [String: SceneFacts], signals: [String: SignalDecision],
        folder: URL, failures: Int
    ) throws {
        let out = URL(fileURLWithPath: path)  // made, with mistakes/, before the evaluation ran
        try JSONSerialization.data(withJSONObject: metrics, options: [.sortedKeys, .prettyPrinted])
            .write(to: out.appendingPathComponent("metrics.json"))
        var md = "# Evaluation of \(modelOptions.folder.path) on \(folder.path)\n\n```\n\(text(e, failures: failures))\n```\n\n"
        md += "## Light confusion (rows: truth, columns: prediction)\n\n| truth \\ predicted | "
            + Evaluation.predictedClasses.joined(separator: " | ") + " |\n|---|" + String(repeating: "---|", count: 5) + "\n"
        for (i, name) in Evaluation.truthClasses.enumerated() {
            md += "| \(name) | " + e.confusion[i].map(String.init).joined(separator: " | ") + " |\n"
        }
        md += "\n## Light mistakes (false greens first)\n\n"
        let ordered = e.lightMistakes.sorted { ($0.predicted == "green" ? 0 : 1) < ($1.predicted == "green" ? 0 : 1) }
        for mistake in ordered.prefix(24) {
            let name = mistake.file.replacingOccurrences(of: "/", with: "_") + ".png"
            if let f = facts[mistake.file], let image = try? Image.decode(file: folder.appendingPathComponent(mistake.file).path) {
                try? Overlay.draw(f, on: image, maxWidth: 480, signal: signals[mistake.file])
                    .write(to: out.appendingPathComponent("mistakes/\(name)").path)
            }
            md += "- `\(mistake.file)`: truth \(mistake.truth), predicted \(mistake.predicted)  \n  ![](mistakes/\(name))\n"
        }
        try md.write(to: out.appendingPathComponent("report.md"), atomically: true, encoding: .utf8)
    }
}
