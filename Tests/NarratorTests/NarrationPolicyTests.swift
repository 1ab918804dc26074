import Fusion
import Narrator
import Testing
import Vision

/// A tracked scene as the tracker would hand it over.
private func scene(
    _ time: Double,
    _ status: LightStatus? = nil,
    kind: LightKind = .pedestrian,
    crosswalk: SceneFacts.Crosswalk? = nil,
    obstacles: [SceneFacts.Obstacle] = [],
    description: String? = nil,
    stale: Bool = false
) -> TrackedScene {
    TrackedScene(
        time: time,
        frameTime: stale ? nil : time,
        isStale: stale,
        light: stale ? nil : status.map { TrackedLight(status: $0, kind: kind, position: .ahead, confidence: 0.95, since: time) },
        crosswalk: stale ? nil : crosswalk,
        obstacles: stale ? [] : obstacles,
        description: description,
        lightChanged: false
    )
}

private func obstacle(_ kind: String, _ position: Position, _ distance: Distance) -> SceneFacts.Obstacle {
    SceneFacts.Obstacle(kind: kind, position: position, distance: distance, confidence: 0.9)
}

private func crosswalk(_ offset: Position, heading: Double = 0) -> SceneFacts.Crosswalk {
    SceneFacts.Crosswalk(present: true, offset: offset, headingDegrees: heading, confidence: 0.9)
}

@Suite("Narration policy")
struct NarrationPolicyTests {
    @Test("A steady red is said once, then again only after the 10 s cool-down")
    func repetitionAndCoolDown() {
        var policy = NarrationPolicy()
        var spokenAt: [Double] = []
        for tenth in 0...250 {
            let time = Double(tenth) / 10
            if !policy.narrate(scene(time, .red)).isEmpty {
                spokenAt.append(time)
            }
        }
        #expect(spokenAt == [0, 10, 20])
    }

    @Test("'Signal unclear.' is said once while it lasts, not every cool-down; a change brings it back")
    func unclearIsNotRepeated() {
        var policy = NarrationPolicy()
        var spoken: [(Double, String)] = []
        for tenth in 0...250 {
            let time = Double(tenth) / 10
            let status: LightStatus = (12...14).contains(time) ? .red : .unclear
            spoken += policy.narrate(scene(time, status)).map { (time, $0.text) }
        }
        #expect(spoken.map(\.0) == [0, 12, 14.1])
        #expect(spoken.map(\.1) == ["Signal unclear.", "Wait.", "Signal unclear."])
    }

    @Test("'No colour' is said once, with its cause, in both languages; the unclear signal after it is news")
    func noColourIsSaidOnceWithItsCause() {
        var policy = NarrationPolicy()
        var spoken: [(Double, String)] = []
        for tenth in 0...200 {
            let time = Double(tenth) / 10
            spoken += policy.narrate(scene(time, time < 15 ? .noColour : .unclear)).map { (time, $0.text) }
        }
        #expect(spoken.map(\.0) == [0, 15])
        #expect(spoken.map(\.1) == ["Signal unclear. The camera sees no colour.", "Signal unclear."])
        var mandarin = NarrationPolicy(config: NarrationConfig(language: .mandarin))
        #expect(mandarin.narrate(scene(0, .noColour)).map(\.text) == ["信号不清。画面没有颜色。"])
    }

    @Test("A stop after words that gave no state interrupts them; after another state it waits its turn")
    func stopAfterNoStateInterrupts() {
        for before in [LightStatus.noColour, .unclear, .changing] {
            var policy = NarrationPolicy()
            _ = policy.narrate(scene(0, before))
            let stop = policy.narrate(scene(1, .red))
            #expect(stop.map(\.text) == ["Wait."] && stop.first?.interrupts == true, "after \(before)")
        }
        var policy = NarrationPolicy()
        _ = policy.narrate(scene(0, .none))
        let stop = policy.narrate(scene(1, .red))
        #expect(stop.map(\.text) == ["Wait."] && stop.first?.interrupts == false)
    }

    @Test("Changes are said at once; walk→wait is danger and interrupts")
    func changesAndInterruption() {
        var policy = NarrationPolicy()
        let wait = policy.narrate(scene(0, .red))
        let walk = policy.narrate(scene(1, .green))
        let again = policy.narrate(scene(2, .green))
        let withdrawn = policy.narrate(scene(3, .red))
        #expect(wait.map(\.text) == ["Wait."])
        #expect(walk.map(\.text) == ["Walk signal on."])
        #expect(walk.first?.interrupts == false)
        #expect(again.isEmpty)
        #expect(withdrawn.map(\.text) == ["Wait."])
        #expect(withdrawn.first?.priority == .danger)
        #expect(withdrawn.first?.interrupts == true)
    }

    @Test("An utterance the wearer did not hear is forgotten: said again with the next scene; a walk never heard needs no withdrawal")
    func forgettingWhatWasNotHeard() {
        var policy = NarrationPolicy()
        let walk = policy.narrate(scene(0, .green))
        #expect(walk.map(\.text) == ["Walk signal on."])
        #expect(policy.narrate(scene(0.1, .green)).isEmpty, "said once")
        policy.forget(walk[0])
        #expect(policy.narrate(scene(0.2, .green)).map(\.text) == ["Walk signal on."], "dropped before it was heard: said again")
        let heard = policy.narrate(scene(0.3, .green))
        #expect(heard.isEmpty)
        // Dropped again, then red: the wearer never heard walk, so "Wait." is an ordinary
        // change, not a withdrawal that interrupts.
        policy.forget(walk[0])
        let wait = policy.narrate(scene(0.4, .red))
        #expect(wait.map(\.text) == ["Wait."] && wait.first?.priority == .signal && wait.first?.interrupts == false)
        // Forgetting what the topic no longer holds changes nothing: the red stays said.
        policy.forget(walk[0])
        #expect(policy.narrate(scene(0.5, .red)).isEmpty)
        // An obstacle cut off is said again at once, not after its cool-down.
        var walking = NarrationPolicy(config: NarrationConfig(mode: .walking))
        let bike = walking.narrate(scene(0, obstacles: [obstacle("bicycle", .right, .near)]))
        #expect(bike.map(\.text) == ["Bicycle on your right, close."])
        walking.forget(bike[0])
        #expect(walking.narrate(scene(0.1, obstacles: [obstacle("bicycle", .right, .near)])).map(\.text) == ["Bicycle on your right, close."])
        // A withdrawal the wearer did not hear is said again as a withdrawal: the walk before
        // it was heard.
        var crossing = NarrationPolicy()
        _ = crossing.narrate(scene(0, .green))
        let withdrawal = crossing.narrate(scene(1, .red))
        #expect(withdrawal.first?.interrupts == true)
        crossing.forget(withdrawal[0])
        let again = crossing.narrate(scene(1.1, .red))
        #expect(again.map(\.text) == ["Wait."] && again.first?.priority == .danger && again.first?.interrupts == true)
        // Every utterance carries the time of the scene it was made from.
        #expect(walk[0].sceneTime == 0 && wait[0].sceneTime == 0.4)
    }

    @Test("Walk withdrawn by flashing or by the light leaving view is said even in walking mode")
    func walkWithdrawnAlwaysSaid() {
        var crossing = NarrationPolicy()
        _ = crossing.narrate(scene(0, .green))
        #expect(crossing.narrate(scene(1, .flashing)).map(\.text) == ["Signal flashing. Do not start crossing."])

        var walking = NarrationPolicy(config: NarrationConfig(mode: .walking, verbosity: .minimal))
        #expect(walking.describe(scene(0, .green)).map(\.text) == ["Walk signal on."])
        let gone = walking.narrate(scene(1, NarrationPolicyTests.none))
        #expect(gone.map(\.text) == ["No signal in view."])
        #expect(gone.first?.interrupts == true)
    }

    @Test("A walk said before a change of mode, or by describe, is withdrawn after green frames the mode keeps quiet about")
    func walkWithdrawnAfterQuietGreenFrames() {
        var policy = NarrationPolicy()
        #expect(policy.narrate(scene(0, .green)).map(\.text) == ["Walk signal on."])
        policy.config.mode = .walking
        #expect(policy.narrate(scene(1, .green)).isEmpty)
        let withdrawn = policy.narrate(scene(2, .red))
        #expect(withdrawn.map(\.text) == ["Wait."])
        #expect(withdrawn.first?.priority == .danger && withdrawn.first?.interrupts == true)

        var describing = NarrationPolicy(config: NarrationConfig(mode: .describe))
        #expect(describing.describe(scene(0, .green)).map(\.message) == [.light(.green, .pedestrian)])
        #expect(describing.narrate(scene(1, .green)).isEmpty)
        #expect(describing.narrate(scene(2, .green)).isEmpty)
        let ended = describing.narrate(scene(3, .red))
        #expect(ended.map(\.text) == ["Wait."])
        #expect(ended.first?.interrupts == true)
    }

    /// `LightStatus.none`, spelled out so it is not read as `Optional.none`.
    private static let none = LightStatus.none

    @Test("Danger first: a near obstacle ahead, then the signal, then the crosswalk and the turn cue")
    func priorityOrder() {
        var policy = NarrationPolicy()
        let said = policy.narrate(
            scene(0, .red, crosswalk: crosswalk(.left, heading: -15), obstacles: [obstacle("pole", .ahead, .near)])
        )
        #expect(said.map(\.text) == ["Pole ahead, close.", "Wait.", "Crosswalk ahead, slightly left.", "Turn slightly left."])
        #expect(said.map(\.priority) == [.danger, .signal, .guidance, .guidance])
        #expect(said.map(\.interrupts) == [true, false, false, false])
    }

    @Test("Camera lost interrupts once, repeats after its cool-down, and the street is said afresh after it")
    func cameraLost() {
        var policy = NarrationPolicy()
        _ = policy.narrate(scene(0, .green, crosswalk: crosswalk(.ahead)))
        let lost = policy.narrate(scene(1, stale: true))
        #expect(lost.map(\.text) == ["Camera blocked."])
        #expect(lost.first?.interrupts == true)
        #expect(lost.first?.priority == .danger)
        #expect(policy.narrate(scene(5, stale: true)).isEmpty)
        let reminder = policy.narrate(scene(11, stale: true))
        #expect(reminder.map(\.text) == ["Camera blocked."])
        #expect(reminder.first?.interrupts == false)
        // The tracker restarts after a stall, so the light comes back unconfirmed first; the
        // wearer hears that the camera is back before it.
        #expect(policy.narrate(scene(12, .changing, crosswalk: crosswalk(.ahead))).map(\.text)
            == ["Camera back.", "Signal changing.", "Crosswalk ahead."])
        #expect(policy.narrate(scene(13, .changing, crosswalk: crosswalk(.ahead))).isEmpty, "said once")
        // On a street with nothing to say, "Camera back." alone tells the wearer the camera works.
        _ = policy.narrate(scene(14, stale: true))
        #expect(policy.narrate(scene(15)).map(\.text) == ["Camera back."])
    }

    @Test("A stale scene is never spoken about as a light, whatever was said before")
    func staleSaysNoLight() {
        var policy = NarrationPolicy(config: NarrationConfig(verbosity: .verbose))
        _ = policy.narrate(scene(0, .red))
        for time in stride(from: 1.0, through: 60, by: 0.5) {
            for utterance in policy.narrate(scene(time, stale: true)) {
                #expect(utterance.message == .cameraBlocked)
            }
        }
    }

    @Test("Walking mode: obstacles near and mid, the crosswalk's presence, no signal and no turn cues")
    func walkingMode() {
        var policy = NarrationPolicy(config: NarrationConfig(mode: .walking))
        let said = policy.narrate(
            scene(
                0, .red, crosswalk: crosswalk(.right, heading: 20),
                obstacles: [obstacle("bicycle", .right, .near), obstacle("car", .left, .mid), obstacle("tree", .ahead, .far)]
            )
        )
        #expect(said.map(\.text) == ["Bicycle on your right, close.", "Car on your left.", "Crosswalk ahead, slightly right."])
    }

    @Test("An obstacle said farther off interrupts when it comes close ahead; close ahead again does not")
    func obstacleComingClose() {
        var policy = NarrationPolicy(config: NarrationConfig(mode: .walking, verbosity: .verbose))
        let far = policy.narrate(scene(0, obstacles: [obstacle("car", .ahead, .far)]))
        #expect(far.map(\.text) == ["Car ahead, far."])
        #expect(far.map(\.interrupts) == [false])
        let close = policy.narrate(scene(2, obstacles: [obstacle("car", .ahead, .near)]))
        #expect(close.map(\.text) == ["Car ahead, close."])
        #expect(close.map(\.priority) == [.danger])
        #expect(close.map(\.interrupts) == [true])
        // Still close after its cool-down: repeated, but it is no longer news.
        let again = policy.narrate(scene(2 + NarrationConfig().obstacleRepeatInterval, obstacles: [obstacle("car", .ahead, .near)]))
        #expect(again.map(\.interrupts) == [false])
    }

    @Test("Describe mode: silent but for danger; describe() gives the tracker's signal and the filtered caption")
    func describeMode() {
        var policy = NarrationPolicy(config: NarrationConfig(mode: .describe))
        let caption = "Safe to cross now. Green light. Car on your left. Crosswalk ahead, slightly left."
        let busy = scene(0, .red, crosswalk: crosswalk(.ahead), obstacles: [obstacle("car", .left, .mid)], description: caption)
        #expect(policy.narrate(busy).isEmpty)
        #expect(policy.narrate(scene(1, .red, obstacles: [obstacle("cone", .ahead, .near)])).map(\.text) == ["Cone ahead, close."])
        let described = policy.describe(busy)
        // The caption's crossing is on another side than the tracked one: dropped, and the tracked
        // crossing said instead.
        #expect(described.map(\.text) == ["Wait.", "Car on your left. Crosswalk ahead."])
        // The signal is a light message of its own, so whatever speaks it later checks it against
        // the scene of that moment; the description's text holds no light.
        #expect(described.map(\.message) == [.light(.red, .pedestrian), .description("Car on your left. Crosswalk ahead.")])
        #expect(described.map(\.topic) == [.light, .description])
        // A caption of the newest frame that leaves out what the tracker holds does not hide it.
        let held = scene(
            3, .red, crosswalk: crosswalk(.ahead), obstacles: [obstacle("bicycle", .right, .near), obstacle("car", .left, .mid)],
            description: "Crosswalk ahead.")
        #expect(policy.describe(held).map(\.text) == ["Wait.", "Crosswalk ahead. Bicycle on your right, close. Car on your left."])
        // Clock-face directions: the facts alone, in the phrasebook's words (the captions' are relative).
        var clock = NarrationPolicy(config: NarrationConfig(mode: .describe, directions: .clockFace))
        #expect(clock.describe(held).map(\.text) == ["Wait.", "Crosswalk at 12 o'clock. Bicycle at 1 o'clock, close. Car at 11 o'clock."])
        #expect(policy.describe(scene(2, stale: true)).map(\.text) == ["Camera blocked."])
    }

    @Test("Verbosity: minimal keeps to the signal and danger; verbose adds far obstacles and 'no signal'")
    func verbosity() {
        let street = [obstacle("bin", .right, .near), obstacle("car", .left, .far)]
        var minimal = NarrationPolicy(config: NarrationConfig(verbosity: .minimal))
        #expect(minimal.narrate(scene(0, .red, crosswalk: crosswalk(.ahead), obstacles: street)).map(\.text) == ["Wait."])
        #expect(minimal.narrate(scene(1, .off)).isEmpty)

        var normal = NarrationPolicy()
        #expect(normal.narrate(scene(0, NarrationPolicyTests.none, crosswalk: crosswalk(.ahead), obstacles: street)).map(\.text)
            == ["Bin on your right, close.", "Crosswalk ahead."])

        var verbose = NarrationPolicy(config: NarrationConfig(verbosity: .verbose))
        #expect(verbose.narrate(scene(0, NarrationPolicyTests.none, crosswalk: crosswalk(.ahead), obstacles: street)).map(\.text)
            == ["No signal in view.", "Bin on your right, close.", "Car on your left, far.", "Crosswalk ahead."])
    }

    @Test("Alignment cues: slight and strong turns; said again only when the bucket changes")
    func alignment() {
        var policy = NarrationPolicy(config: NarrationConfig(verbosity: .minimal))
        #expect(policy.narrate(scene(0, crosswalk: crosswalk(.ahead, heading: 12))).map(\.text) == ["Turn slightly right."])
        #expect(policy.narrate(scene(1, crosswalk: crosswalk(.ahead, heading: 18))).isEmpty)
        #expect(policy.narrate(scene(2, crosswalk: crosswalk(.ahead, heading: -40))).map(\.text) == ["Turn left."])
        #expect(policy.narrate(scene(3, crosswalk: crosswalk(.ahead, heading: 2))).isEmpty)
        #expect(policy.narrate(scene(4, crosswalk: crosswalk(.ahead, heading: -40))).map(\.text) == ["Turn left."])
    }

    @Test("Clock-face directions in English and Mandarin")
    func clockFace() {
        let busy = scene(0, crosswalk: crosswalk(.left, heading: -35), obstacles: [obstacle("bicycle", .right, .near)])
        var english = NarrationPolicy(config: NarrationConfig(directions: .clockFace))
        #expect(english.narrate(busy).map(\.text) == ["Bicycle at 1 o'clock, close.", "Crosswalk at 11 o'clock.", "Turn to 11 o'clock."])
        var mandarin = NarrationPolicy(config: NarrationConfig(language: .mandarin, directions: .clockFace))
        #expect(mandarin.narrate(busy).map(\.text) == ["一点钟方向有自行车，很近。", "十一点钟方向有人行横道。", "转向十一点钟方向。"])
        // Headings round to the nearest hour; one within 15° of ahead gives no clock cue.
        var nearAhead = NarrationPolicy(config: NarrationConfig(directions: .clockFace))
        #expect(nearAhead.narrate(scene(0, crosswalk: crosswalk(.ahead, heading: 14))).map(\.text) == ["Crosswalk at 12 o'clock."])
        #expect(nearAhead.narrate(scene(1, crosswalk: crosswalk(.ahead, heading: 75))).map(\.text) == ["Turn to 3 o'clock."])
    }

    @Test("Mandarin wording of the signal states, in Chinese characters")
    func mandarinWording() {
        var policy = NarrationPolicy(config: NarrationConfig(language: .mandarin))
        #expect(policy.narrate(scene(0, .red)).map(\.text) == ["等待。"])
        #expect(policy.narrate(scene(1, .green)).map(\.text) == ["步行信号亮。"])
        #expect(policy.narrate(scene(2, .flashing)).map(\.text) == ["信号灯闪烁。不要开始过马路。"])
        #expect(policy.narrate(scene(3, .unclear)).map(\.text) == ["信号不清。"])
        #expect(policy.narrate(scene(4, stale: true)).map(\.text) == ["摄像头被挡住。"])
        #expect(policy.narrate(scene(5, .red, obstacles: [obstacle("scooter", .left, .near)])).map(\.text) == ["摄像头恢复了。", "等待。", "左侧有滑板车，很近。"])
        #expect(policy.narrate(scene(6, .red, obstacles: [obstacle("scooter", .left, .near)])).allSatisfy { $0.language == .mandarin })
    }

    @Test("Walk is said only for a confirmed green: 'changing' and 'unclear' never say walk")
    func unconfirmedGreenIsNotWalk() {
        var policy = NarrationPolicy()
        #expect(policy.narrate(scene(0, .changing)).map(\.text) == ["Signal changing."])
        #expect(policy.narrate(scene(1, .unclear)).map(\.text) == ["Signal unclear."])
        #expect(policy.narrate(scene(2, .green, kind: .vehicle)).map(\.text) == ["Traffic light green."])
    }

    @Test("Nothing ever says 'safe': every message in both languages and directions, and filtered captions")
    func neverSafe() {
        let messages = PhrasebookMessages.all
        var texts: [String] = []
        for language in Language.allCases {
            for directions in DirectionStyle.allCases {
                let book = Phrasebook(language: language, directions: directions)
                texts += messages.map(book.text(for:))
            }
        }
        for mode in NarrationMode.allCases {
            var policy = NarrationPolicy(config: NarrationConfig(mode: mode, verbosity: .verbose))
            for status in LightStatus.allCases {
                let captioned = scene(0, status, description: "It is safe to cross. Safely go now! Green light ahead. Bench on the right.")
                texts += policy.describe(captioned).map(\.text)
                texts += policy.narrate(captioned).map(\.text)
            }
        }
        #expect(texts.count > 300)
        #expect(texts.allSatisfy { !$0.lowercased().contains("safe") && !$0.contains("安全") })
        // The caption's one sentence that is neither about the signal nor about safety is free
        // text the facts do not back: dropped too, as a still description drops it (rule 5).
        #expect(!texts.contains { $0.contains("Bench") })
    }
}

@Suite("Countdown in the narration")
struct CountdownNarrationTests {
    private func green(_ time: Double, seconds: Int?) -> TrackedScene {
        TrackedScene(
            time: time, frameTime: time, isStale: false,
            light: TrackedLight(status: .green, kind: .pedestrian, position: .ahead, confidence: 0.97, since: 0, secondsLeft: seconds),
            crosswalk: nil, obstacles: [], description: nil, lightChanged: false)
    }

    @Test("The phrasebook says the seconds beside red and green, in both languages, and nowhere else")
    func phrasebook() {
        let english = Phrasebook(language: .english)
        let mandarin = Phrasebook(language: .mandarin)
        #expect(english.text(for: .light(.green, .pedestrian), secondsLeft: 12) == "Walk signal on, 12 seconds.")
        #expect(english.text(for: .light(.green, .pedestrian), secondsLeft: 1) == "Walk signal on, 1 second.")
        #expect(english.text(for: .light(.red, .pedestrian), secondsLeft: 40) == "Wait, 40 seconds.")
        #expect(english.text(for: .light(.red, .vehicle), secondsLeft: 40) == "Wait. Traffic light red, 40 seconds.")
        #expect(mandarin.text(for: .light(.green, .pedestrian), secondsLeft: 12) == "步行信号亮，还有十二秒。")
        #expect(mandarin.text(for: .light(.green, .pedestrian), secondsLeft: 2) == "步行信号亮，还有两秒。")
        #expect(mandarin.text(for: .light(.red, .pedestrian), secondsLeft: 22) == "等待，还有二十二秒。")
        for status in [LightStatus.yellow, .unclear, .changing, .none, .flashing, .off] {
            #expect(english.text(for: .light(status, .pedestrian), secondsLeft: 9) == english.text(for: .light(status, .pedestrian)))
        }
        #expect(english.text(for: .light(.green, .pedestrian), secondsLeft: nil) == "Walk signal on.")
    }

    @Test("Walk is said with its seconds; a countdown ticking down does not make it said again before its repeat")
    func tickingIsNotNews() {
        var policy = NarrationPolicy()
        var spoken: [(Double, String)] = []
        for tenth in 0...120 {
            let time = Double(tenth) / 10
            spoken += policy.narrate(green(time, seconds: 30 - Int(time))).map { (time, $0.text) }
        }
        #expect(spoken.map(\.0) == [0, 10])
        #expect(spoken.map(\.1) == ["Walk signal on, 30 seconds.", "Walk signal on, 20 seconds."])
        #expect(policy.describe(green(12, seconds: 18)).first?.text.hasPrefix("Walk signal on, 18 seconds.") == true)
    }
}
