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

    /// A candidate at `x` whose box's longer side is `side` pixels.
    static func candidate(_ x: Int, side: Int) -> LampCandidate {
        LampCandidate(x0: x, y0: 100, x1: x + side / 2, y1: 100 + side, colour: .green, score: 100, scale: 1)
    }

    /// Rows of (not a signal, pedestrian red, pedestrian green, vehicle red, vehicle yellow, vehicle green).
    static func decide(
        _ rows: [[Float]], _ candidates: [LampCandidate], thresholds: SignalExpertConfiguration.Thresholds = thresholds,
        setAside: UInt32 = 0
    ) -> SignalDecision {
        var flat = rows.flatMap { $0 }
        return flat.withUnsafeMutableBufferPointer {
            SignalDecision(
                candidates: candidates, probabilities: $0, classes: 6, frameWidth: width, thresholds: thresholds, setAside: setAside)
        }
    }

    @Test("A candidate set aside takes no part: the red lamp behind it decides, it vetoes nothing, and alone it leaves no signal")
    func setAside() {
        let rows: [[Float]] = [[0.1, 0, 0.88, 0, 0, 0.02], [0.1, 0.9, 0, 0, 0, 0]]
        let pair = [Self.candidate(300), Self.candidate(50)]
        let doubt = Self.decide(rows, pair)
        #expect(doubt.state == .unknown)
        #expect(doubt.reason == .greenBelowThreshold)
        #expect(doubt.doubtsGreen)
        let red = Self.decide(rows, pair, setAside: 1 << 0)
        #expect(red.state == .red)
        #expect(red.candidate == 1)
        // A stop lamp set aside vetoes nothing.
        let vetoed = Self.decide([[0.005, 0, 0.995, 0, 0, 0], [0.6, 0.35, 0.05, 0, 0, 0]], pair)
        #expect(vetoed.reason == .redLampInView)
        #expect(Self.decide([[0.005, 0, 0.995, 0, 0, 0], [0.6, 0.35, 0.05, 0, 0, 0]], pair, setAside: 1 << 1).state == .green)
        let alone = Self.decide([rows[0]], [pair[0]], setAside: 1 << 0)
        #expect(alone.state == .none)
        #expect(alone.confidence == 1)
        // A red that is unsure, or a disagreement, is no doubt about a green.
        #expect(!Self.decide([[0.3, 0.4, 0.3, 0, 0, 0]], [pair[0]]).doubtsGreen)
    }

    @Test("A frame without colour turns \"no signal\" and green into unknown (no colour in the frame), and is no doubt about a green")
    func seenWithoutColour() {
        var none = Self.decide([], [])
        none.seenWithoutColour(colourless: true, colourIsNoise: true)
        #expect(none.state == .unknown && none.reason == .noColour && none.confidence == 0)
        #expect(none.reason?.rawValue == "no colour in the frame")
        #expect(!none.doubtsGreen)
        var unlit = Self.decide([[0.9, 0.05, 0.05, 0, 0, 0]], [Self.candidate(300)])
        #expect(unlit.state == .none)
        unlit.seenWithoutColour(colourless: true, colourIsNoise: true)
        #expect(unlit.state == .unknown && unlit.reason == .noColour)
        var walk = Self.decide([[0.005, 0, 0.995, 0, 0, 0]], [Self.candidate(300)])
        #expect(walk.state == .green)
        walk.seenWithoutColour(colourless: true, colourIsNoise: true)
        #expect(walk.state == .unknown && walk.reason == .noColour && walk.confidence == 0)
        let decided: [[[Float]]] = [[[0.05, 0.95, 0, 0, 0, 0]], [[0.3, 0.4, 0.3, 0, 0, 0]], [[0.1, 0, 0, 0, 0.9, 0]]]
        for rows in decided {
            let before = Self.decide(rows, [Self.candidate(300)])
            var after = before
            after.seenWithoutColour(colourless: true, colourIsNoise: true)
            #expect(after == before, "\(before.state.rawValue)")
        }
    }

    @Test("Colour that is only noise turns \"no signal\" into unknown, but not a walk; a frame in colour changes nothing")
    func colourOnlyNoise() {
        var none = Self.decide([], [])
        none.seenWithoutColour(colourless: false, colourIsNoise: true)
        #expect(none.state == .unknown && none.reason == .noColour && none.confidence == 0)
        let walk = Self.decide([[0.005, 0, 0.995, 0, 0, 0]], [Self.candidate(300)])
        var faded = walk
        faded.seenWithoutColour(colourless: false, colourIsNoise: true)
        #expect(faded == walk && faded.state == .green)
        for rows: [[Float]] in [[], [[0.9, 0.05, 0.05, 0, 0, 0]], [[0.005, 0, 0.995, 0, 0, 0]]] {
            let before = Self.decide(rows, rows.isEmpty ? [] : [Self.candidate(300)])
            var after = before
            after.seenWithoutColour(colourless: false, colourIsNoise: false)
            #expect(after == before, "\(before.state.rawValue)")
        }
    }

    @Test("A read that is not a number makes the frame unsure, never green; a NaN view or verifier green fails the walk")
    func notANumber() {
        let walk: [Float] = [0.005, 0, 0.995, 0, 0, 0]
        let pair = [Self.candidate(300), Self.candidate(50)]
        #expect(Self.decide([walk, [0.9, 0.1, 0, 0, 0, 0]], pair).state == .green)
        for broken: [Float] in [[.nan, 0, 0, 0, 0, 0], [0.5, .nan, 0, 0, 0, 0], [0.1, 0, .infinity, 0, 0, 0]] {
            let d = Self.decide([walk, broken], pair)
            #expect(d.state == .unknown && d.reason == .unsure && d.candidate == nil, "\(broken)")
        }
        // Set aside, a broken read takes no part.
        #expect(Self.decide([walk, [.nan, 0, 0, 0, 0, 0]], pair, setAside: 1 << 1).state == .green)
        var viewed = Self.decide([walk], [pair[0]])
        viewed.confirmGreen(smallestViewGreen: .nan, thresholds: Self.thresholds)
        #expect(viewed.state == .unknown && viewed.reason == .greenNotConfirmed)
        var verified = Self.decide([walk], [pair[0]])
        verified.confirmVerified(verifierGreen: .nan, threshold: 0.9)
        #expect(verified.state == .unknown && verified.reason == .greenNotVerified)
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

    @Test("With red_veto_side, a red speck under that fraction of the walk lamp's side does not veto; one at it does")
    func redVetoSide() {
        var t = Self.thresholds
        t.redVetoSide = 1.0 / 3
        let rows: [[Float]] = [[0.005, 0, 0.995, 0, 0, 0], [0.2, 0.8, 0, 0, 0, 0]]
        let speck = Self.decide(rows, [Self.candidate(300, side: 60), Self.candidate(50, side: 19)], thresholds: t)
        #expect(speck.state == .green)
        let lamp = Self.decide(rows, [Self.candidate(300, side: 60), Self.candidate(50, side: 20)], thresholds: t)
        #expect(lamp.state == .unknown)
        #expect(lamp.reason == .redLampInView)
        let everySize = Self.decide(rows, [Self.candidate(300, side: 60), Self.candidate(50, side: 19)])
        #expect(everySize.reason == .redLampInView)
    }

    @Test("A walk lamp read through its figure is compared at its blob's size: a red lamp a third of the blob still vetoes")
    func figureVetoSize() {
        var t = Self.thresholds
        t.redVetoSide = 1.0 / 3
        let rows: [[Float]] = [[0.01, 0, 0.99, 0, 0, 0], [0.6, 0.35, 0.05, 0, 0, 0]]
        // The figure of a 10×20 blob: the 40 px square on it; its lamp is the blob's 20 px.
        let figure = LampCandidate(x0: 285, y0: 90, x1: 325, y1: 130, colour: .green, score: 100, scale: LampProposer.figureScale)
        #expect(figure.isFigure && figure.side == Self.candidate(300).side)
        let red = LampCandidate(x0: 100, y0: 50, x1: 107, y1: 57, colour: .red, score: 100, scale: 1)
        #expect(Self.decide(rows, [figure, red], thresholds: t).reason == .redLampInView)
    }

    @Test("The sizes are compared with the smallest lamp that could become the walk lamp, a standby included")
    func redVetoSideAgainstStandby() {
        var t = Self.thresholds
        t.redVetoSide = 1.0 / 3
        let d = Self.decide(
            [[0.005, 0, 0.995, 0, 0, 0], [0.01, 0, 0.99, 0, 0, 0], [0.2, 0.8, 0, 0, 0, 0]],
            [Self.candidate(300, side: 90), Self.candidate(400, side: 30), Self.candidate(50, side: 12)], thresholds: t)
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

    @Test("Green stands only when every confirmation view reads green; other states pass unchanged")
    func greenConfirmation() {
        var kept = Self.decide([[0.01, 0, 0.99, 0, 0, 0]], [Self.candidate(300)])
        #expect(kept.state == .green)
        kept.confirmGreen(smallestViewGreen: 0.96, thresholds: Self.thresholds)
        #expect(kept.state == .green)
        #expect(kept.confidence == 0.96)
        var lost = Self.decide([[0.01, 0, 0.99, 0, 0, 0]], [Self.candidate(300)])
        lost.confirmGreen(smallestViewGreen: 0.4, thresholds: Self.thresholds)
        #expect(lost.state == .unknown)
        #expect(lost.reason == .greenNotConfirmed)
        #expect(lost.confidence == 0.4)
        let red = Self.decide([[0.01, 0.99, 0, 0, 0, 0]], [Self.candidate(300)])
        var after = red
        after.confirmGreen(smallestViewGreen: 0, thresholds: Self.thresholds)
        #expect(after == red)
    }

    @Test("With a green verifier, a confirmed green stands only when the verifier reaches its threshold; other states pass unchanged")
    func greenVerification() {
        var kept = Self.decide([[0.01, 0, 0.99, 0, 0, 0]], [Self.candidate(300)])
        kept.confirmGreen(smallestViewGreen: 0.97, thresholds: Self.thresholds)
        kept.confirmVerified(verifierGreen: 0.9, threshold: 0.8)
        #expect(kept.state == .green)
        #expect(kept.verifierGreen == 0.9)
        #expect(kept.confidence == 0.97)
        var lost = Self.decide([[0.01, 0, 0.99, 0, 0, 0]], [Self.candidate(300)])
        lost.confirmGreen(smallestViewGreen: 0.97, thresholds: Self.thresholds)
        lost.confirmVerified(verifierGreen: 0.79, threshold: 0.8)
        #expect(lost.state == .unknown)
        #expect(lost.reason == .greenNotVerified)
        #expect(lost.evidence.state.green <= 0.2)
        var unconfirmed = Self.decide([[0.01, 0, 0.99, 0, 0, 0]], [Self.candidate(300)])
        unconfirmed.confirmGreen(smallestViewGreen: 0.4, thresholds: Self.thresholds)
        let before = unconfirmed
        unconfirmed.confirmVerified(verifierGreen: 1, threshold: 0.8)
        #expect(unconfirmed == before)
        let red = Self.decide([[0.01, 0.99, 0, 0, 0, 0]], [Self.candidate(300)])
        var after = red
        after.confirmVerified(verifierGreen: 1, threshold: 0.8)
        #expect(after == red)
    }

    @Test("Confirmation views: the crop at 3× and 5× the box, then moved by a tenth (lamps.confirmation_rects)")
    func confirmationRects() {
        let k = LampCandidate(x0: 100, y0: 50, x1: 110, y1: 70, colour: .green, score: 100, scale: 1)
        let rects = (0..<LampCandidate.confirmationViews.count).map { k.confirmationRect($0, frameWidth: 640, frameHeight: 480) }
        #expect(rects[0] == PixelRect(x: 75, y: 30, width: 60, height: 60))
        #expect(rects[1] == PixelRect(x: 55, y: 10, width: 100, height: 100))
        #expect(rects[2] == PixelRect(x: 73, y: 20, width: 80, height: 80))
        #expect(rects[3] == PixelRect(x: 57, y: 20, width: 80, height: 80))
        #expect(rects[4] == PixelRect(x: 65, y: 28, width: 80, height: 80))
        #expect(rects[5] == PixelRect(x: 65, y: 12, width: 80, height: 80))
        // An odd sum near the edge floors like Python's //: (1 + 4 - 16) >> 1 == -6.
        let edge = LampCandidate(x0: 1, y0: 0, x1: 4, y1: 3, colour: .red, score: 1, scale: 1)
        #expect(edge.confirmationRect(0, frameWidth: 640, frameHeight: 480) == PixelRect(x: -6, y: -7, width: 16, height: 16))
        let whole = LampCandidate.wholeFrame(width: 640, height: 480)
        let trimmed = (0..<LampCandidate.confirmationViews.count).map { whole.confirmationRect($0, frameWidth: 640, frameHeight: 480) }
        #expect(trimmed == [
            PixelRect(x: 40, y: 30, width: 560, height: 420), PixelRect(x: 20, y: 15, width: 600, height: 450),
            PixelRect(x: 40, y: 0, width: 600, height: 480), PixelRect(x: 0, y: 0, width: 600, height: 480),
            PixelRect(x: 0, y: 30, width: 640, height: 450), PixelRect(x: 0, y: 0, width: 640, height: 450),
        ])
    }

    @Test("A red vetoes green only when it holds in its views; lifted, the green needs its own")
    func vetoResolved() {
        var d = Self.decide(
            [[0.005, 0, 0.995, 0, 0, 0], [0.6, 0.35, 0.05, 0, 0, 0], [0.2, 0.8, 0, 0, 0, 0]],
            [Self.candidate(300), Self.candidate(50), Self.candidate(500)])
        #expect(d.state == .unknown)
        #expect(d.reason == .redLampInView)
        #expect(d.vetoingStops == 0b110)
        d.resolveVeto()
        #expect(d.state == .green)
        #expect(d.reason == nil)
        #expect(d.candidate == 0)
        #expect(d.vetoingStops == 0)
        d.confirmGreen(smallestViewGreen: 0.4, thresholds: Self.thresholds)
        #expect(d.reason == .greenNotConfirmed)
        // A vehicle green's veto counts red + yellow.
        let vehicle = Self.decide([[0.01, 0, 0, 0, 0, 0.99], [0.4, 0, 0, 0.2, 0.4, 0]], [Self.candidate(300), Self.candidate(50)])
        #expect(vehicle.vetoingStops == 0b10)
        var red = Self.decide([[0.01, 0.99, 0, 0, 0, 0]], [Self.candidate(300)])
        let before = red
        red.resolveVeto()
        #expect(red == before)
    }

    @Test("A red overruled by a green beside it stands once that green fails its views")
    func disagreementResolved() {
        var d = Self.decide([[0.01, 0.99, 0, 0, 0, 0], [0.02, 0, 0.98, 0, 0, 0]], [Self.candidate(300), Self.candidate(50)])
        #expect(d.state == .unknown)
        #expect(d.reason == .candidatesDisagree)
        #expect(d.disagreeingGreens == 0b10)
        #expect(d.overruled == .red)
        d.resolveDisagreement()
        #expect(d.state == .red)
        #expect(d.reason == nil)
        #expect(d.candidate == 0)
        var green = Self.decide([[0.01, 0, 0.99, 0, 0, 0]], [Self.candidate(300)])
        let before = green
        green.resolveDisagreement()
        #expect(green == before)
    }

    @Test("A standby green is walk when the strongest green fails its views; nothing else moves")
    func standbyConfirmed() {
        let candidates = [Self.candidate(300), Self.candidate(50), Self.candidate(500)]
        // A bright green sign outshines the walk lamp; 0.7 of green is no standby.
        var d = Self.decide([[0.001, 0, 0.999, 0, 0, 0], [0.3, 0, 0.7, 0, 0, 0], [0.01, 0, 0.99, 0, 0, 0]], candidates)
        #expect(d.state == .green)
        #expect(d.candidate == 0)
        #expect(d.standbyGreens == 0b100)
        let confirmedBest = { () -> SignalDecision in
            var c = d
            c.confirmGreen(smallestViewGreen: 0.99, thresholds: Self.thresholds)
            c.confirmStandby(2, box: candidates[2], masses: (0.01, 0, 0.99, 0), smallestViewGreen: 0.99, frameWidth: Self.width,
                             thresholds: Self.thresholds)
            return c
        }()
        #expect(confirmedBest.candidate == 0)
        d.confirmGreen(smallestViewGreen: 0.4, thresholds: Self.thresholds)
        #expect(d.reason == .greenNotConfirmed)
        var failed = d
        failed.confirmStandby(2, box: candidates[2], masses: (0.01, 0, 0.99, 0), smallestViewGreen: 0.94, frameWidth: Self.width,
                              thresholds: Self.thresholds)
        #expect(failed == d)
        d.confirmStandby(1, box: candidates[1], masses: (0.3, 0, 0.7, 0), smallestViewGreen: 0.99, frameWidth: Self.width,
                         thresholds: Self.thresholds)
        #expect(d.reason == .greenNotConfirmed, "candidate 1 is no standby")
        d.confirmStandby(2, box: candidates[2], masses: (0.01, 0, 0.99, 0), smallestViewGreen: 0.96, frameWidth: Self.width,
                         thresholds: Self.thresholds)
        #expect(d.state == .green)
        #expect(d.reason == nil)
        #expect(d.candidate == 2)
        #expect(d.position == .right)
        #expect(d.confidence == 0.96)
        // A vehicle green is no standby for a pedestrian walk.
        let mixed = Self.decide([[0.001, 0, 0.999, 0, 0, 0], [0.01, 0, 0, 0, 0, 0.99]], [Self.candidate(300), Self.candidate(500)])
        #expect(mixed.kind == .pedestrian)
        #expect(mixed.standbyGreens == 0)
    }

    @Test("A later standby the verifier passes is walk when it turned down the walk lamp; nothing else changes")
    func verifiedStandby() {
        // The whole frame of a close-up outranks the lamp's blob by a hair; both hold in their
        // views, the verifier turns the whole frame down (signal_model.confirm_verified_standby).
        let t = SignalExpertConfiguration.Thresholds(signal: 0.5, abstain: 0.5, green: 0.95, redVeto: 0.3, verify: 0.5)
        let candidates = [Self.candidate(0), Self.candidate(50), Self.candidate(500), Self.candidate(300)]
        let rows: [[Float]] = [
            [0.0001, 0, 0.9999, 0, 0, 0], [0.3, 0, 0.7, 0, 0, 0], [0.001, 0, 0.999, 0, 0, 0], [0.002, 0, 0.998, 0, 0, 0],
        ]
        var d = Self.decide(rows, candidates, thresholds: t)
        #expect(d.candidate == 0)
        #expect(d.standbyGreens == 0b1100)
        d.confirmGreen(smallestViewGreen: 0.99, thresholds: t)
        let verified = { () -> SignalDecision in
            var v = d
            v.confirmVerified(verifierGreen: 0.9, threshold: 0.5)
            v.confirmVerifiedStandby(3, box: candidates[3], masses: (0.002, 0, 0.998, 0), smallestViewGreen: 0.99, verifierGreen: 0.99,
                                     frameWidth: Self.width, thresholds: t)
            return v
        }()
        #expect(verified.candidate == 0, "a verified walk lamp stays the walk lamp")
        d.confirmVerified(verifierGreen: 0.31, threshold: 0.5)
        #expect(d.reason == .greenNotVerified)
        #expect(d.standbysAfterWalkCandidate == 0b1100)
        let turnedDown = d
        // Candidate 2 holds and is turned down too; 1 is no standby; 3 passes both.
        d.confirmVerifiedStandby(2, box: candidates[2], masses: (0.001, 0, 0.999, 0), smallestViewGreen: 0.97, verifierGreen: 0.2,
                                 frameWidth: Self.width, thresholds: t)
        #expect(d == turnedDown)
        d.confirmVerifiedStandby(1, box: candidates[1], masses: (0.3, 0, 0.7, 0), smallestViewGreen: 0.99, verifierGreen: 0.99,
                                 frameWidth: Self.width, thresholds: t)
        #expect(d == turnedDown, "candidate 1 is no standby")
        d.confirmVerifiedStandby(3, box: candidates[3], masses: (0.002, 0, 0.998, 0), smallestViewGreen: 0.94, verifierGreen: 0.99,
                                 frameWidth: Self.width, thresholds: t)
        #expect(d == turnedDown, "a standby that does not hold is not walk")
        d.confirmVerifiedStandby(3, box: candidates[3], masses: (0.002, 0, 0.998, 0), smallestViewGreen: 0.96, verifierGreen: 0.73,
                                 frameWidth: Self.width, thresholds: t)
        #expect(d.state == .green)
        #expect(d.reason == nil)
        #expect(d.candidate == 3)
        #expect(d.position == .ahead)
        #expect(d.confidence == 0.96)
        #expect(d.verifierGreen == 0.73)
        // A standby that took the walk lamp's place and was turned down leaves only those after it.
        var standby = Self.decide(rows, candidates, thresholds: t)
        standby.confirmGreen(smallestViewGreen: 0.4, thresholds: t)
        standby.confirmStandby(2, box: candidates[2], masses: (0.001, 0, 0.999, 0), smallestViewGreen: 0.97, frameWidth: Self.width,
                               thresholds: t)
        standby.confirmVerified(verifierGreen: 0.1, threshold: 0.5)
        #expect(standby.standbysAfterWalkCandidate == 0b1000)
        // The last places of the mask: a walk lamp that was standby 30 leaves only 31; standby 31, none.
        var many = [[Float]](repeating: [0.9, 0.05, 0.05, 0, 0, 0], count: 32)
        many[0] = [0.0001, 0, 0.9999, 0, 0, 0]
        many[30] = [0.001, 0, 0.999, 0, 0, 0]
        many[31] = [0.001, 0, 0.999, 0, 0, 0]
        let spread = (0..<32).map { Self.candidate(10 + 17 * $0) }
        for (standby, left) in [(30, UInt32(1) << 31), (31, UInt32(0))] {
            var last = Self.decide(many, spread, thresholds: t)
            #expect(last.standbyGreens == 0b11 << 30)
            last.confirmGreen(smallestViewGreen: 0.4, thresholds: t)
            if standby == 31 {
                last.confirmStandby(30, box: spread[30], masses: (0.001, 0, 0.999, 0), smallestViewGreen: 0.9, frameWidth: Self.width,
                                    thresholds: t)
            }
            last.confirmStandby(standby, box: spread[standby], masses: (0.001, 0, 0.999, 0), smallestViewGreen: 0.99,
                                frameWidth: Self.width, thresholds: t)
            last.confirmVerified(verifierGreen: 0.1, threshold: 0.5)
            #expect(last.candidate == standby)
            #expect(last.standbysAfterWalkCandidate == left)
        }
        // A green not confirmed in its views is not the verifier's to settle.
        var unconfirmed = Self.decide(rows, candidates, thresholds: t)
        unconfirmed.confirmGreen(smallestViewGreen: 0.4, thresholds: t)
        let before = unconfirmed
        unconfirmed.confirmVerifiedStandby(3, box: candidates[3], masses: (0.002, 0, 0.998, 0), smallestViewGreen: 0.99, verifierGreen: 0.99,
                                           frameWidth: Self.width, thresholds: t)
        #expect(unconfirmed == before)
    }
}
