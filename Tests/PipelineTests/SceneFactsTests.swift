import Foundation
import Testing
import Vision

@Suite("Scene facts")
struct SceneFactsTests {
    @Test("Rounded facts always encode: a confidence that is not a number becomes 0 and such a heading is left out")
    func nonFiniteValuesStillEncode() throws {
        let facts = SceneFacts(
            time: 1.23456,
            light: .init(kind: .pedestrian, state: .red, confidence: .nan, position: .ahead),
            crosswalk: .init(present: true, offset: .left, headingDegrees: .nan, confidence: .infinity),
            obstacles: [.init(kind: "car", position: .left, distance: .near, confidence: .nan)])
        // JSON has no NaN: the raw facts do not encode (the daemon lost such a frame's event).
        #expect(throws: EncodingError.self) { try JSONEncoder().encode(facts) }
        let decoded = try JSONDecoder().decode(SceneFacts.self, from: try JSONEncoder().encode(facts.rounded()))
        #expect(decoded.time == 1.235)
        #expect(decoded.light?.confidence == 0 && decoded.light?.state == .red)
        #expect(decoded.crosswalk?.confidence == 0 && decoded.crosswalk?.headingDegrees == nil && decoded.crosswalk?.present == true)
        #expect(decoded.obstacles.map(\.confidence) == [0])
    }
}
