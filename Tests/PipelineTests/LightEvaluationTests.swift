import Foundation
import Pipeline
import Testing
import Vision

/// `listen eval`'s tally of why the light was left unknown (lttw.signal_breakdown's `unknown_why`).
@Suite("Light evaluation")
struct LightEvaluationTests {
    private func scene(_ truth: String) throws -> LabelledScene {
        try LabelledScene.decode(#"{"file": "a.png", "pedestrian_light": "\#(truth)"}"#)
    }

    private func facts(_ state: LightState) -> SceneFacts {
        SceneFacts(time: 0, light: SceneFacts.Light(kind: .pedestrian, state: state, confidence: 0.9, position: .ahead), crosswalk: nil, obstacles: [])
    }

    @Test("Unknowns are counted by truth and reason; a flashing light and a decision without a reason have their own; answers are not counted")
    func unknownWhy() throws {
        var e = Evaluation()
        e.add(try scene("green"), facts(.unknown), unknownReason: SignalDecision.Reason.greenBelowThreshold.rawValue)
        e.add(try scene("green"), facts(.unknown), unknownReason: SignalDecision.Reason.greenBelowThreshold.rawValue)
        e.add(try scene("green"), facts(.unknown))
        e.add(try scene("off_or_none"), facts(.unknown), unknownReason: SignalDecision.Reason.redLampInView.rawValue)
        e.add(try scene("red"), facts(.flashing))
        e.add(try scene("red"), facts(.red), unknownReason: "ignored: the light was answered")
        #expect(e.unknownWhy == [
            "green": ["green below threshold": 2, Evaluation.unstatedReason: 1],
            "off_or_none": ["a red lamp in view": 1],
            "red": ["flashing": 1],
        ])
        #expect(e.confusion[1][4] == 3 && e.confusion[0][4] == 1 && e.confusion[3][4] == 1)
    }
}
