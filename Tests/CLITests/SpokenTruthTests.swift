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
        // Other topics are not about the present moment's light.
        #expect(truth.isStillTrue(Self.utterance(.crosswalk(.left))))
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
