import Fusion
import Vision

/// Decides what to say, from the tracked scene, so that the wearer hears a short, stable and
/// honest stream rather than a caption per frame.
///
/// A value type with no clock of its own: it is told the time through each scene, so it is
/// tested on scripted scenes exactly. The rules:
/// - Danger first: the camera lost, a walk signal withdrawn, something near straight ahead.
///   These interrupt whatever is being said.
/// - One thing per topic is said once, and again only when it changes or after its cool-down.
/// - Walk is said only for a tracker-confirmed green of a fresh scene (safety rule 1 and 2),
///   and nothing the decoder writes can say it instead (see `describe(_:)`).
/// - What is said unprompted depends on the mode and the verbosity.
public struct NarrationPolicy: Sendable {
    public var config: NarrationConfig

    private var said: [UtteranceTopic: Said] = [:]
    /// What each topic's `said` held before its latest utterance, for `forget` to put back.
    private var replaced: [UtteranceTopic: Said] = [:]
    private var cameraLost = false

    public init(config: NarrationConfig = NarrationConfig()) {
        self.config = config
    }

    private var phrasebook: Phrasebook { Phrasebook(language: config.language, directions: config.directions) }

    /// What to say now, most urgent first. Call with every tracked scene (each frame, or on a
    /// timer while frames are missing so that a stall is heard).
    public mutating func narrate(_ scene: TrackedScene) -> [Utterance] {
        var out: [Utterance] = []
        if scene.isStale {
            let justLost = !cameraLost
            cameraLost = true
            // Whatever was said about the street no longer holds: after the camera comes back,
            // every topic is said afresh.
            said = said.filter { $0.key == .camera }
            say(.cameraBlocked, topic: .camera, priority: .danger, interrupts: justLost,
                repeatAfter: config.cameraRepeatInterval, now: scene.time, into: &out)
            return out
        }
        if cameraLost, said[.camera] != nil {
            // Only while "camera blocked" still counts as said: one the wearer never heard (dropped
            // as the frames came back, see `forget`) needs no all-clear. The light's priority and
            // before it: "Camera back. Wait."
            say(.cameraBack, topic: .camera, priority: .signal, interrupts: false, repeatAfter: nil, now: scene.time, into: &out)
        }
        cameraLost = false
        said[.camera] = nil

        narrateLight(scene, into: &out)
        narrateObstacles(scene, into: &out)
        narrateCrosswalk(scene, into: &out)
        return out.enumerated()
            .sorted { ($0.element.priority, -$0.offset) > ($1.element.priority, -$1.offset) }
            .map(\.element)
    }

    /// The full description, on demand (the describe button): the signal as the tracker holds
    /// it, then the decoder's caption with every sentence about the signal or about safety
    /// removed and every sentence the tracked facts do not back, then what the facts hold that the
    /// caption left out (the crossing, the turn cue, the nearest obstacles); without a caption,
    /// or with clock-face directions, the facts alone.
    ///
    /// The caption is a language model's guess from one frame; letting it say "green light"
    /// would bypass the tracker's confirmation (safety rule 1), so only the tracker speaks
    /// about the signal. A caption in another language than the policy's (written just before a
    /// language change) is replaced by the facts.
    ///
    /// The signal is its own `.light` utterance, before the description: whatever speaks or
    /// repeats it later checks a light message against the scene of that moment, and a light
    /// inside a description's text would pass that check after the light had changed.
    public mutating func describe(_ scene: TrackedScene) -> [Utterance] {
        let book = phrasebook
        guard !scene.isStale else {
            return [utterance(.cameraBlocked, topic: .camera, priority: .danger, interrupts: false, sceneTime: scene.time)]
        }
        var signal: Utterance?
        if let light = scene.light {
            let message = Self.message(for: light)
            signal = utterance(message, topic: .light, priority: .info, interrupts: false, secondsLeft: light.secondsLeft,
                               sceneTime: scene.time)
            remember(message, topic: .light, at: scene.time)
        }
        var parts: [String] = []
        let caption = scene.description.map(Self.removingSignalSentences) ?? ""
        if config.directions == .relative, !caption.isEmpty, Self.isWritten(caption, in: config.language) {
            // The caption's sentences the tracked facts back, then the facts' own sentences it
            // left out (the crossing, the nearest obstacles), as a still description has them: a
            // caption of the newest frame must not hide a bicycle the tracker holds.
            let kept = CaptionGuard.supported(caption, crosswalk: scene.crosswalk, obstacles: scene.obstacles)
            if !kept.isEmpty { parts.append(kept) }
            let said = Set(CaptionGuard.sentences(of: kept))
            let facts = CaptionGuard.factSentences(
                crosswalk: scene.crosswalk, obstacles: Array(scene.obstacles.prefix(config.maxObstacles)),
                mandarin: config.language == .mandarin)
            parts.append(contentsOf: facts.filter { !said.contains($0) })
            if let crosswalk = scene.crosswalk, crosswalk.present, let turn = config.turn(forHeading: crosswalk.headingDegrees) {
                parts.append(book.text(for: .turn(turn)))
            }
        } else {
            // No caption in this language, or clock-face directions (the captions' are relative):
            // the facts alone, in the phrasebook's words.
            if let crosswalk = scene.crosswalk, crosswalk.present, let offset = crosswalk.offset {
                parts.append(book.text(for: .crosswalk(offset)))
                if let turn = config.turn(forHeading: crosswalk.headingDegrees) {
                    parts.append(book.text(for: .turn(turn)))
                }
            }
            for obstacle in scene.obstacles.prefix(config.maxObstacles) {
                parts.append(book.text(for: .obstacle(kind: obstacle.kind, position: obstacle.position, distance: obstacle.distance)))
            }
        }
        let text = parts.joined(separator: config.language == .english ? " " : "")
        let description = Utterance(
            message: .description(text), text: text, language: config.language, priority: .info, topic: .description, interrupts: false,
            sceneTime: scene.time)
        guard let signal else { return [description] }
        return text.isEmpty ? [signal] : [signal, description]
    }

    // MARK: - Topics

    private static func message(for light: TrackedLight) -> Message {
        .light(light.status, light.spokenKind)
    }

    private mutating func narrateLight(_ scene: TrackedScene, into out: inout [Utterance]) {
        guard let light = scene.light else { return }
        let message = Self.message(for: light)
        if case .light(.green, _)? = said[.light]?.message, light.status != .green {
            // Walk withdrawn: always said, whatever the mode, before anything else.
            say(message, topic: .light, priority: .danger, interrupts: true, repeatAfter: nil, now: scene.time, secondsLeft: light.secondsLeft,
                into: &out)
            return
        }
        guard speaks(light.status) else {
            // A walk already said (before a change of mode, or by `describe`) stays remembered
            // while the light is green, so that its end is still said, whatever the mode.
            if case .light(.green, _)? = said[.light]?.message { return }
            said[.light] = nil
            return
        }
        // A state in force repeats, as an accessible pedestrian signal does. "No signal",
        // "changing" and "unclear" (for whatever cause) are said once, until they change: on a
        // street with no signal (or one the expert cannot read) "Signal unclear." every ten
        // seconds tells the wearer nothing new and buries what does (issue 13).
        // (Those that give no state are the ones the facts call `unknown`.)
        let repeats = light.status != .none && light.status.factsState != .unknown
        // A stop after words that gave no state cuts them short: "Wait." must not queue behind
        // "Signal unclear. The camera sees no colour."
        var stopAfterNoState = false
        if [.red, .yellow, .flashing].contains(light.status), case .light(let before, _)? = said[.light]?.message {
            stopAfterNoState = before.factsState == .unknown
        }
        say(message, topic: .light, priority: .signal, interrupts: stopAfterNoState,
            repeatAfter: repeats ? config.lightRepeatInterval : nil, now: scene.time, secondsLeft: light.secondsLeft, into: &out)
    }

    private func speaks(_ status: LightStatus) -> Bool {
        let core: Set<LightStatus> = [.green, .red, .yellow, .flashing, .unclear, .noColour, .changing]
        switch (config.mode, config.verbosity) {
        case (.describe, _), (.walking, .minimal), (.walking, .normal): return false
        case (.crossing, .minimal): return core.contains(status)
        case (.crossing, .normal), (.walking, .verbose): return core.contains(status) || status == .off
        case (.crossing, .verbose): return true
        }
    }

    private mutating func narrateObstacles(_ scene: TrackedScene, into out: inout [Utterance]) {
        let present = Set(scene.obstacles.map { UtteranceTopic.obstacle(kind: $0.kind, position: $0.position) })
        // An obstacle gone for a full cool-down is forgotten, so its return is news; one that
        // flickers out and back within it is not said twice.
        said = said.filter { topic, last in
            guard case .obstacle = topic, !present.contains(topic) else { return true }
            return scene.time - last.time < config.obstacleRepeatInterval
        }
        var spoken = 0
        for obstacle in scene.obstacles where spoken < config.maxObstacles {
            let danger = obstacle.position == .ahead && obstacle.distance == .near
            guard danger || speaks(obstacle.distance) else { continue }
            spoken += 1
            let topic = UtteranceTopic.obstacle(kind: obstacle.kind, position: obstacle.position)
            let message = Message.obstacle(kind: obstacle.kind, position: obstacle.position, distance: obstacle.distance)
            // Danger interrupts when it is news: an obstacle not said before, or one said farther
            // off that is now close ahead (its earlier words were not a warning).
            let isNewDanger = danger && said[topic]?.message != message
            say(message, topic: topic, priority: danger ? .danger : .guidance, interrupts: isNewDanger,
                repeatAfter: config.obstacleRepeatInterval, now: scene.time, into: &out)
        }
    }

    private func speaks(_ distance: Distance) -> Bool {
        switch (config.mode, config.verbosity) {
        case (.describe, _), (.crossing, .minimal): false
        case (.crossing, .normal), (.walking, .minimal): distance == .near
        case (.walking, .normal): distance != .far
        case (.crossing, .verbose), (.walking, .verbose): true
        }
    }

    private mutating func narrateCrosswalk(_ scene: TrackedScene, into out: inout [Utterance]) {
        guard config.mode != .describe else { return }
        guard let crosswalk = scene.crosswalk, crosswalk.present, let offset = crosswalk.offset else {
            said[.crosswalk] = nil
            said[.alignment] = nil
            return
        }
        if config.verbosity >= .normal {
            say(.crosswalk(offset), topic: .crosswalk, priority: .guidance, interrupts: false,
                repeatAfter: config.verbosity == .verbose ? config.crosswalkRepeatInterval : nil, now: scene.time, into: &out)
        }
        guard config.mode == .crossing else { return }
        if let turn = config.turn(forHeading: crosswalk.headingDegrees) {
            say(.turn(turn), topic: .alignment, priority: .guidance, interrupts: false,
                repeatAfter: config.crosswalkRepeatInterval, now: scene.time, into: &out)
        } else {
            said[.alignment] = nil
        }
    }

    // MARK: - Saying once

    /// The wearer did not hear `utterance` (dropped as no longer true, cut off, or lost to a
    /// failing sound device): its topic goes back to what was said before it, so what still holds
    /// is said again with the next scene rather than after its cool-down. A walk never heard then
    /// needs no withdrawal, and a withdrawal never heard is said again as one (the walk before it
    /// counts as heard).
    public mutating func forget(_ utterance: Utterance) {
        guard said[utterance.topic]?.message == utterance.message else { return }
        said[utterance.topic] = replaced.removeValue(forKey: utterance.topic)
    }

    private mutating func remember(_ message: Message, topic: UtteranceTopic, at time: Double) {
        replaced[topic] = said[topic]
        said[topic] = Said(message: message, time: time)
    }

    private mutating func say(
        _ message: Message,
        topic: UtteranceTopic,
        priority: UtterancePriority,
        interrupts: Bool,
        repeatAfter: Double?,
        now: Double,
        secondsLeft: Int? = nil,
        into out: inout [Utterance]
    ) {
        // The seconds are part of the text, not of the message: a countdown ticking down is not a
        // new message, so it never makes the light be said again before its repeat.
        if let last = said[topic], last.message == message {
            guard let repeatAfter, now - last.time >= repeatAfter else { return }
        }
        remember(message, topic: topic, at: now)
        out.append(utterance(message, topic: topic, priority: priority, interrupts: interrupts, secondsLeft: secondsLeft, sceneTime: now))
    }

    private func utterance(
        _ message: Message, topic: UtteranceTopic, priority: UtterancePriority, interrupts: Bool, secondsLeft: Int? = nil,
        sceneTime: Double
    ) -> Utterance {
        Utterance(message: message, text: phrasebook.text(for: message, secondsLeft: secondsLeft), language: config.language,
                  priority: priority, topic: topic, interrupts: interrupts, secondsLeft: secondsLeft, sceneTime: sceneTime)
    }

    /// Whether `text` is in `language`, judged by its script: Mandarin has CJK ideographs, English
    /// none.
    static func isWritten(_ text: String, in language: Language) -> Bool {
        let hasIdeographs = text.unicodeScalars.contains { (0x4E00...0x9FFF).contains($0.value) }
        return language == .mandarin ? hasIdeographs : !hasIdeographs
    }

    /// The caption without any sentence that mentions the signal, walking, waiting or safety
    /// (in English or Mandarin).
    public static func removingSignalSentences(_ caption: String) -> String {
        let englishWords: Set<String> = [
            "light", "lights", "signal", "signals", "walk", "green", "red", "yellow", "amber", "wait",
            "safe", "safely", "safety", "go", "cross",
        ]
        let mandarinFragments = ["灯", "信号", "步行", "等待", "安全", "通行", "过马路"]
        var sentences: [String] = []
        var current = ""
        for character in caption {
            current.append(character)
            if ".!?。！？".contains(character) {
                sentences.append(current)
                current = ""
            }
        }
        sentences.append(current)
        let kept = sentences.filter { sentence in
            let words = sentence.lowercased().split { !$0.isLetter }.map(String.init)
            return !words.contains(where: englishWords.contains)
                && !mandarinFragments.contains(where: sentence.contains)
                && !sentence.allSatisfy(\.isWhitespace)
        }
        return kept.map { String($0.drop { $0 == " " }) }.joined(separator: " ")
    }
}

private struct Said: Sendable, Hashable {
    var message: Message
    var time: Double
}
