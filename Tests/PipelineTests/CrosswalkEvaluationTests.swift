import Foundation
import Pipeline
import Testing
import Vision

/// `listen eval`'s crossing breakdown (lttw.evaluate.crosswalk_breakdown): crossings by side and by
/// the share of the frame they cover, and the frames without one.
@Suite("Crosswalk evaluation")
struct CrosswalkEvaluationTests {
    private func scene(_ line: String) throws -> LabelledScene {
        try LabelledScene.decode(line)
    }

    private func generated(_ offset: String, share: Double) throws -> LabelledScene {
        try scene(#"{"file": "a.png", "crosswalk": "yes", "facts": {"crosswalk": {"present": true, "offset": "\#(offset)", "heading_deg": 12.5}, "#
            + #""conditions": {"framing": "street", "salt_pepper": true, "crosswalk_seen_fraction": \#(share)}}}"#)
    }

    private func said(_ present: Bool) -> SceneFacts {
        SceneFacts(time: 0, light: nil,
                   crosswalk: SceneFacts.Crosswalk(present: present, offset: present ? .left : nil, headingDegrees: nil, confidence: 0.9),
                   obstacles: [])
    }

    @Test("Crossings count by side and share of the frame, frames without one under none; a photo counts by its box's side where it has one")
    func breakdown() throws {
        var e = Evaluation()
        e.add(try generated("left", share: 0.01), said(false))
        e.add(try generated("left", share: 0.05), said(true))
        e.add(try generated("ahead", share: 0.2), said(true))
        e.add(try scene(#"{"file": "b.png", "crosswalk": "no", "facts": {"crosswalk": {"present": false, "offset": null}}}"#), said(true))
        e.add(try scene(#"{"file": "c.jpg", "crosswalk": "yes"}"#), said(true))
        e.add(try scene(#"{"file": "d.jpg", "crosswalk": "yes", "facts": "not an object"}"#), said(false))
        e.add(try scene(#"{"file": "e.jpg", "crosswalk": "yes", "crosswalk_position": "center"}"#), said(true))
        e.add(try scene(#"{"file": "f.jpg", "crosswalk": "yes", "crosswalk_position": "left"}"#), said(true))
        #expect(e.crosswalkLabelled == 8 && e.crosswalkCorrect == 5)
        // Sides are scored on crossings found: said left for the left crossings at 5 % and f.jpg,
        // for the one ahead at 20 % and for e.jpg (a centred box: ahead).
        #expect(e.crosswalkSideScored == 4 && e.crosswalkSideRight == 2)
        #expect(e.crosswalkBy == [
            "none: labelled absent": .init(labelled: 1, right: 0),
            "share of frame: under 3 %": .init(labelled: 1, right: 0),
            "share of frame: 3-8 %": .init(labelled: 1, right: 1),
            "share of frame: 8 % or more": .init(labelled: 1, right: 1),
            "side: left": .init(labelled: 3, right: 2),
            "side: ahead": .init(labelled: 2, right: 2),
        ])
        #expect(e.crosswalkByInOrder.map(\.key) == [
            "none: labelled absent", "share of frame: under 3 %", "share of frame: 3-8 %", "share of frame: 8 % or more",
            "side: ahead", "side: left",
        ])
    }
}
