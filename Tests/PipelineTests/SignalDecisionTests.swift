import Fusion
import Imaging
import Pipeline
import Testing
import Vision

/// The signal expert's frame decision, rule by rule — the same cases as
/// training/tests/test_signal_decision.py, so Swift and Python decide alike.
@Suite("SignalDecision")
struct SignalDecisionTests {
    static let thresholds = SignalExpertConfiguration.Thresholds(signal: 0.5, abstain: 0.5, green: 0.95, redVeto: 0.3)
    static let width = 600

    static func candidate(_ x: Int) -> LampCandidate {
        LampCandidate(x0: x, y0: 100, x1: x + 10, y1: 120, colour: .green, score: 100, scale: 1)
    }

    /// Rows of (not a signal, pedestrian red, pedestrian green, vehicle red, vehicle yellow, vehicle green).
    static func decide(_ rows: [[Float]], _ candidates: [LampCandidate]) -> SignalDecision {
        var flat = rows.flatMap { $0 }
        return flat.withUnsafeMutableBufferPointer {
            SignalDecision(candidates: candidates, probabilities: $0, classes: 6, frameWidth: width, thresholds: thresholds)
        }
    }

    @Test("No candidates, or none lit: no signal in view")
    func nothingLit() {
        #expect(Self.decide([], []).state == .none)
        let d = Self.decide([[0.9, 0.05, 0.05, 0, 0, 0], [0.7, 0.1, 0.1, 0.1, 0, 0]], [Self.candidate(10), Self.candidate(300)])
        #expect(d.state == .none)
        #expect(abs(d.confidence - 0.7) < 1e-6)
        #expect(d.evidence.state.mostLikely.state == .none)
    }

    @Test("A confident pedestrian green is green, with its kind and position")
    func green() {
        let d = Self.decide([[0.01, 0, 0.99, 0, 0, 0]], [Self.candidate(500)])
        #expect(d.state == .green)
        #expect(d.kind == .pedestrian)
        #expect(d.position == .right)
        #expect(d.evidence.state.green > 0.98)
    }

    @Test("Green below the threshold is unknown, and its evidence can confirm nothing")
    func greenBelowThreshold() {
        let d = Self.decide([[0.05, 0.02, 0.93, 0, 0, 0]], [Self.candidate(300)])
        #expect(d.state == .unknown)
        #expect(d.reason == .greenBelowThreshold)
        #expect(d.evidence.state.green <= 0.2)
    }

    @Test("A faint red pedestrian lamp anywhere vetoes green")
    func redVeto() {
        let d = Self.decide([[0.005, 0, 0.995, 0, 0, 0], [0.6, 0.35, 0.05, 0, 0, 0]], [Self.candidate(300), Self.candidate(50)])
        #expect(d.state == .unknown)
        #expect(d.reason == .redLampInView)
    }

    @Test("Pedestrian red and green together is unknown, whichever is stronger")
    func disagreement() {
        let greenFirst = Self.decide([[0.01, 0, 0.99, 0, 0, 0], [0.02, 0.98, 0, 0, 0, 0]], [Self.candidate(300), Self.candidate(50)])
        #expect(greenFirst.state == .unknown)
        #expect(greenFirst.reason == .redLampInView)
        let redFirst = Self.decide([[0.02, 0, 0.98, 0, 0, 0], [0.01, 0.99, 0, 0, 0, 0]], [Self.candidate(300), Self.candidate(50)])
        #expect(redFirst.state == .unknown)
        #expect(redFirst.reason == .candidatesDisagree)
    }

    @Test("A red beside a weak green is red")
    func redBesideWeakGreen() {
        let d = Self.decide([[0.01, 0.99, 0, 0, 0, 0], [0.3, 0, 0.7, 0, 0, 0]], [Self.candidate(300), Self.candidate(50)])
        #expect(d.state == .red)
    }

    @Test("A pedestrian green wins over a red vehicle light for cross traffic")
    func pedestrianFirst() {
        let d = Self.decide([[0.01, 0, 0.99, 0, 0, 0], [0.01, 0, 0, 0.99, 0, 0]], [Self.candidate(300), Self.candidate(50)])
        #expect(d.state == .green)
        #expect(d.kind == .pedestrian)
    }

    @Test("Vehicle green next to a vehicle red or yellow is unknown")
    func vehicleDisagreement() {
        let red = Self.decide([[0.01, 0, 0, 0, 0, 0.99], [0.01, 0, 0, 0.99, 0, 0]], [Self.candidate(300), Self.candidate(50)])
        #expect(red.state == .unknown)
        let yellow = Self.decide([[0.01, 0, 0, 0, 0, 0.99], [0.02, 0, 0, 0, 0.98, 0]], [Self.candidate(300), Self.candidate(50)])
        #expect(yellow.state == .unknown)
        #expect(yellow.reason == .redLampInView)
    }

    @Test("Red needs its mass over the abstain threshold; a red frame carries no green evidence")
    func redAbstains() {
        let unsure = Self.decide([[0.1, 0.45, 0.15, 0, 0.3, 0]], [Self.candidate(300)])
        #expect(unsure.state == .unknown)
        #expect(unsure.reason == .unsure)
        let red = Self.decide([[0.1, 0.8, 0.1, 0, 0, 0]], [Self.candidate(300)])
        #expect(red.state == .red)
        #expect(red.position == .ahead)
        #expect(red.evidence.state.green == 0)
    }

    @Test("The strongest signal is chosen; the whole frame is ahead")
    func wholeFrame() {
        let d = Self.decide([[0.3, 0.7, 0, 0, 0, 0], [0.05, 0.95, 0, 0, 0, 0]], [Self.candidate(10), .wholeFrame(width: 600, height: 400)])
        #expect(d.candidate == 1)
        #expect(d.position == .ahead)
        #expect(d.state == .red)
    }
}
