import Foundation
import Imaging
import Narrator
import Pipeline
import Testing
import Vision

/// Nothing is spoken about a crossing or an obstacle that the facts do not back (safety rule 5).
@Suite("CaptionGuard")
struct CaptionGuardTests {
    static let crosswalkLeft = SceneFacts.Crosswalk(present: true, offset: .left, headingDegrees: -5, confidence: 0.9)
    static let noCrosswalk = SceneFacts.Crosswalk(present: false, offset: nil, headingDegrees: nil, confidence: 0.9)
    static let carRightNear = SceneFacts.Obstacle(kind: "car", position: .right, distance: .near, confidence: 0.8)

    @Test("A crossing the facts do not hold, or hold on another side, is dropped; the backed one kept")
    func crosswalk() {
        let caption = "Crosswalk ahead, slightly right. Car on your right, close."
        #expect(CaptionGuard.supported(caption, crosswalk: Self.noCrosswalk, obstacles: [Self.carRightNear]) == "Car on your right, close.")
        #expect(CaptionGuard.supported(caption, crosswalk: Self.crosswalkLeft, obstacles: []) == "")
        #expect(CaptionGuard.supported("Crosswalk ahead, slightly left. Bin ahead.", crosswalk: Self.crosswalkLeft, obstacles: [])
            == "Crosswalk ahead, slightly left.")
    }

    @Test("Obstacles need the same kind, side and distance; signal sentences and free text never pass")
    func obstaclesAndSignals() {
        let facts = [Self.carRightNear]
        #expect(CaptionGuard.supported("Car on your left, close. Car on your right. Walk signal on. Car on your right, close.", crosswalk: nil, obstacles: facts)
            == "Car on your right, close.")
        #expect(CaptionGuard.supported("Wait. Red pedestrian signal ahead. It is safe to cross.", crosswalk: Self.crosswalkLeft, obstacles: facts) == "")
    }

    @Test("Mandarin sentences are held to the same facts")
    func mandarin() {
        #expect(CaptionGuard.supported("前方人行横道，略偏右。右侧有汽车，很近。左侧有汽车，很近。", crosswalk: Self.noCrosswalk, obstacles: [Self.carRightNear])
            == "右侧有汽车，很近。")
        #expect(CaptionGuard.supported("步行信号亮。前方人行横道，略偏左。", crosswalk: Self.crosswalkLeft, obstacles: []) == "前方人行横道，略偏左。")
    }

    @Test("Unbacked claims are the crossing and obstacle sentences the facts deny, in either language; signal sentences are not claims")
    func unbackedClaims() {
        let caption = "Wait. Crosswalk ahead, slightly right. Car on your right, close. Sign board on your left."
        #expect(CaptionGuard.unbackedClaims(caption, crosswalk: Self.noCrosswalk, obstacles: [Self.carRightNear])
            == ["Crosswalk ahead, slightly right.", "Sign board on your left."])
        #expect(CaptionGuard.unbackedClaims("Walk signal on. Red pedestrian signal ahead.", crosswalk: nil, obstacles: []).isEmpty)
        #expect(CaptionGuard.unbackedClaims("等待。前方人行横道。右侧有汽车，很近。左侧有行人。", crosswalk: Self.crosswalkLeft, obstacles: [Self.carRightNear])
            == ["前方人行横道。", "左侧有行人。"])
        #expect(CaptionGuard.unbackedClaims("Crosswalk ahead, slightly left.", crosswalk: Self.crosswalkLeft, obstacles: []).isEmpty)
    }

    @Test("On every sample, in both languages, the spoken description contradicts none of its facts")
    func samplesHaveNoContradictions() throws {
        let model = try ParityTests.model()
        let c = model.configuration
        let stream = StreetModel.Stream(model)
        let folder = Programs.repository.appendingPathComponent("samples/images")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".jpg") }.sorted()
        #expect(files.count >= 16)
        var contradictions: [String] = []
        var rawContradictions = 0
        for file in files {
            let image = try Image.decode(file: folder.appendingPathComponent(file).path)
            try stream.preprocess(image)
            stream.perceive()
            try stream.readSignal(image)
            try stream.readObstacles(image)
            let facts = FrameReading(stream).facts(time: 0, configuration: c)
            let present = facts.crosswalk?.present == true
            for language in [Language.english, .mandarin] {
                let caption = stream.caption(language)
                let crossingWord = language == .english ? "Crosswalk" : "人行横道"
                if !present && caption.contains(crossingWord) { rawContradictions += 1 }
                let described = StillDescription.compose(facts: facts, caption: caption, language: language)
                if !present && described.contains(crossingWord) { contradictions.append("\(file) \(language): \(described)") }
                let backed = CaptionGuard.supported(caption, crosswalk: facts.crosswalk, obstacles: facts.obstacles)
                for sentence in CaptionGuard.sentences(of: backed) where !described.contains(sentence) {
                    contradictions.append("\(file) \(language): lost \(sentence)")
                }
            }
        }
        #expect(contradictions.isEmpty, "\(contradictions)")
        // The guard has work to do on these samples: the raw decoder claims crossings the heads deny.
        print("caption–facts contradictions on the samples: \(rawContradictions) in the decoder's captions, \(contradictions.count) spoken")
    }
}
