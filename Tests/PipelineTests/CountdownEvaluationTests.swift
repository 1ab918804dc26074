import Foundation
import Pipeline
import Testing
import Vision

/// `listen eval`'s countdown figures: the definitions of training/lttw/evaluate.countdown_tally.
@Suite("Countdown evaluation")
struct CountdownEvaluationTests {
    private func scene(_ json: String) throws -> LabelledScene {
        try LabelledScene.decode(json)
    }

    private func facts(_ state: LightState, seconds: Int?) -> SceneFacts {
        SceneFacts(
            time: 0, light: SceneFacts.Light(kind: .pedestrian, state: state, confidence: 0.99, position: .ahead, secondsLeft: seconds),
            crosswalk: nil, obstacles: [])
    }

    @Test("Right, wrong, unsaid and invented seconds; a countdown past the frame's edge is not shown")
    func tally() throws {
        let labelled = try scene(#"{"file": "a.png", "countdown": {"seconds": 12, "box": [10, 10, 20, 30]}}"#)
        let cut = try scene(#"{"file": "b.png", "countdown": {"seconds": 12, "box": [95, 10, 105, 30]}}"#)
        let plain = try scene(#"{"file": "c.png", "pedestrian_light": "red"}"#)
        var e = Evaluation()
        e.add(labelled, facts(.green, seconds: 12), imageSize: (100, 100))
        e.add(labelled, facts(.red, seconds: 13), imageSize: (100, 100))
        e.add(labelled, facts(.unknown, seconds: nil), imageSize: (100, 100))
        e.add(cut, facts(.green, seconds: nil), imageSize: (100, 100))
        e.add(plain, facts(.red, seconds: 4), imageSize: (100, 100))
        let c = e.countdown
        #expect((c.shown, c.right, c.wrong, c.notSaid, c.saidWithoutOne) == (3, 1, 1, 1, 1))
        #expect(c.shownWithLightSaid == 2 && c.accuracyWhereLightSaid == 0.5)
        #expect(c.accuracyOfShown == 1.0 / 3)
    }

    @Test("seconds_left is written only when a countdown was read, with the contract's key")
    func factsJSON() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let with = String(decoding: try encoder.encode(facts(.green, seconds: 12).light), as: UTF8.self)
        let without = String(decoding: try encoder.encode(facts(.green, seconds: nil).light), as: UTF8.self)
        #expect(with.contains("\"seconds_left\":12"))
        #expect(!without.contains("seconds"))
    }
}
