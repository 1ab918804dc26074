import Imaging
import Pipeline
import Testing
import Vision

/// The debug overlay shows which lamp the light came from: the lamp the signal expert read is
/// outlined in the state's colour, and a candidate its second look set aside in grey.
@Suite("Overlay")
struct OverlayTests {
    static let facts = SceneFacts(
        time: 0, light: .init(kind: .pedestrian, state: .red, confidence: 0.9, position: .left),
        crosswalk: nil, obstacles: [], description: nil)

    @Test("The decided lamp is outlined in the light's colour, a few pixels outside its box")
    func lampOutlined() throws {
        let frame = try Image(width: 640, height: 480, color: .black)
        var rows: [Float] = [0.02, 0.98, 0, 0, 0, 0]
        let lamp = LampCandidate(x0: 100, y0: 200, x1: 110, y1: 220, colour: .red, score: 100, scale: 1)
        let decision = rows.withUnsafeMutableBufferPointer {
            SignalDecision(
                candidates: [lamp], probabilities: $0, classes: 6, frameWidth: 640,
                thresholds: .init(signal: 0.5, abstain: 0.5, green: 0.95, redVeto: 0.3))
        }
        #expect(decision.state == .red)
        let drawn = try Overlay.draw(Self.facts, on: frame, signal: decision)
        #expect(drawn.width == 640)
        // The left edge, 3 px out from the box, at mid-height: red; the lamp's own pixels stay black.
        #expect(drawn.pixel(x: 97, y: 210) == [230, 40, 40])
        #expect(drawn.pixel(x: 105, y: 210) == [0, 0, 0])
        // Without the decision nothing is outlined there.
        #expect(try Overlay.draw(Self.facts, on: frame).pixel(x: 97, y: 210) == [0, 0, 0])
    }

    @Test("Overlays of extreme shapes stay within 960 × 1440: a 1 × 100000 strip does not ask for gigabytes")
    func extremeShapes() throws {
        #expect(Overlay.canvasSize(width: 640, height: 480) == (640, 480))
        #expect(Overlay.canvasSize(width: 1920, height: 1080) == (960, 540))
        #expect(Overlay.canvasSize(width: 320, height: 240) == (480, 360))
        #expect(Overlay.canvasSize(width: 1, height: 100_000) == (1, 1440))
        #expect(Overlay.canvasSize(width: 2, height: 30_000) == (1, 1440))
        #expect(Overlay.canvasSize(width: 100_000, height: 1) == (960, 1))
        let strip = try Image(width: 3, height: 20_000, color: .gray)
        let drawn = try Overlay.draw(Self.facts, on: strip)
        #expect(drawn.height == 1440 && drawn.width >= 1)
    }
}
