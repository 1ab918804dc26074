@testable import assistd
import Fusion
import Narrator
import Pipeline
import Testing
import Vision

/// The last check before speech: a light state is spoken only while the scene is fresh and the
/// tracker still holds it (safety rules 1 and 2), and facts handed to other programs go stale
/// with their frame.
@Suite("assistd: what may still be said")
struct SpokenTruthTests {
    static func scene(_ status: LightStatus?, frameTime: Double, stale: Bool = false) -> TrackedScene {
        TrackedScene(
            time: frameTime, frameTime: frameTime, isStale: stale,
            light: status.map { TrackedLight(status: $0, kind: .pedestrian, position: .ahead, confidence: 0.99, since: frameTime) },
            crosswalk: nil, obstacles: [], description: nil, lightChanged: false)
    }

    static func utterance(_ message: Message) -> Utterance {
        Utterance(message: message, text: Phrasebook(language: .english).text(for: message), language: .english,
                  priority: .signal, topic: .light, interrupts: false)
    }

    @Test("Walk is said only while the fresh tracked scene still holds green")
    func lightStates() {
        let state = DaemonState(narration: NarrationConfig())
        let truth = SpokenTruth(state: state, maxFrameAge: 0.5)
        let walk = Self.utterance(.light(.green, .pedestrian))
        let wait = Self.utterance(.light(.red, .pedestrian))
        // No frame yet: no light state may be said.
        #expect(!truth.isStillTrue(walk) && !truth.isStillTrue(wait))
        let now = state.now
        state.update {
            $0.lastFrameAt = now
            $0.scene = Self.scene(.green, frameTime: now)
        }
        #expect(truth.isStillTrue(walk))
        #expect(!truth.isStillTrue(wait), "red queued before the change to green must not be said")
        state.update { $0.scene = Self.scene(.red, frameTime: now) }
        #expect(!truth.isStillTrue(walk), "green withdrawn while queued")
        #expect(truth.isStillTrue(wait))
        // The newest frame too old: nothing about the light, and "camera blocked" holds.
        state.update { $0.scene = Self.scene(.red, frameTime: now - 1) }
        #expect(!truth.isStillTrue(wait))
        #expect(truth.isStillTrue(Self.utterance(.cameraBlocked)))
        #expect(truth.isStillTrue(Self.utterance(.cameraLost)))
        // Fresh again: the camera warning no longer holds.
        state.update { $0.scene = Self.scene(.red, frameTime: state.now) }
        #expect(!truth.isStillTrue(Self.utterance(.cameraBlocked)))
        // A pipeline that fell behind: the analysis has just ended, but of a frame captured over
        // the limit ago. Its light is as old as its frame (rule 2).
        state.update {
            $0.lastFrameAt = state.now
            $0.scene = Self.scene(.red, frameTime: state.now - 0.8)
        }
        #expect(!truth.isStillTrue(wait))
        // Nor anything else about the street from that old frame.
        #expect(!truth.isStillTrue(Self.utterance(.crosswalk(.left))))
    }

    @Test("Everything about the street is checked against the fresh scene when its turn comes; a countdown is reworded")
    func streetFactsAtTheirTurn() {
        let state = DaemonState(narration: NarrationConfig())
        let truth = SpokenTruth(state: state, maxFrameAge: 0.5)
        let now = state.now
        var scene = Self.scene(.green, frameTime: now)
        scene.light?.secondsLeft = 9
        scene.crosswalk = SceneFacts.Crosswalk(present: true, offset: .left, headingDegrees: -35, confidence: 0.9)
        scene.obstacles = [SceneFacts.Obstacle(kind: "car", position: .right, distance: .near, confidence: 0.8)]
        state.update {
            $0.lastFrameAt = now
            $0.scene = scene
        }
        let book = Phrasebook(language: .english)
        // A walk worded with 12 seconds is spoken with the 9 the newest frame shows.
        var walk = Self.utterance(.light(.green, .pedestrian))
        walk.text = book.text(for: walk.message, secondsLeft: 12)
        walk.secondsLeft = 12
        let spoken = truth.revised(walk)
        #expect(spoken?.text == "Walk signal on, 9 seconds." && spoken?.secondsLeft == 9)
        // The same state of another kind of signal is not the same fact.
        #expect(!truth.isStillTrue(Self.utterance(.light(.green, .vehicle))))
        // Obstacles: that kind at that place and distance only.
        #expect(truth.isStillTrue(Self.utterance(.obstacle(kind: "car", position: .right, distance: .near))))
        #expect(!truth.isStillTrue(Self.utterance(.obstacle(kind: "car", position: .right, distance: .far))))
        #expect(!truth.isStillTrue(Self.utterance(.obstacle(kind: "person", position: .right, distance: .near))))
        #expect(!truth.isStillTrue(Self.utterance(.obstacle(kind: "car", position: .ahead, distance: .near))))
        // The crosswalk at its side; the turn its heading asks for.
        #expect(truth.isStillTrue(Self.utterance(.crosswalk(.left))) && !truth.isStillTrue(Self.utterance(.crosswalk(.right))))
        #expect(truth.isStillTrue(Self.utterance(.turn(.left))) && !truth.isStillTrue(Self.utterance(.turn(.slightlyLeft))))
        // A description for a few seconds after its scene.
        var description = Self.utterance(.description("A car on the right."))
        description.sceneTime = now
        #expect(truth.isStillTrue(description))
        description.sceneTime = now - SpokenTruth.maxDescriptionDelay - 0.5
        #expect(!truth.isStillTrue(description))
        // "Ready." is not about the street.
        #expect(truth.isStillTrue(Self.utterance(.ready)))
        // The camera stalls: nothing about the street holds any more.
        state.update { $0.scene?.frameTime = now - 0.8 }
        for message: Message in [.obstacle(kind: "car", position: .right, distance: .near), .crosswalk(.left), .turn(.left)] {
            #expect(!truth.isStillTrue(Self.utterance(message)))
        }
    }

    @Test("Facts whose newest frame is older than the limit are served stale, with no light")
    func staleFacts() {
        let moment = StreetNarrator.Moment(scene: Self.scene(.green, frameTime: 10), utterances: [])
        let fresh = FactsEvent(moment, language: .english, now: 10.2, maxAge: 0.5)
        #expect(!fresh.stale && fresh.facts.light?.state == .green && fresh.lightStatus == "green")
        #expect(fresh.facts.description?.hasPrefix("Walk signal on.") == true)
        let old = FactsEvent(moment, language: .english, now: 11, maxAge: 0.5)
        #expect(old.stale && old.facts.light == nil && old.lightStatus == nil && old.facts.description == nil)
        #expect(old.frameAge == 1)
    }
}
