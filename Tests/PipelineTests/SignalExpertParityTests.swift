import Foundation
import Imaging
import Pipeline
import Testing
@testable import Vision

/// The Swift signal expert against PyTorch on Tests/Fixtures/signal (training/lttw/signal_fixtures.py).
///
/// The candidates must be identical (the proposer is integer arithmetic on both sides), so the
/// crops are too; the crop reader sums in a different order than PyTorch, so the embeddings may
/// differ by float32 rounding (below 1e-4 on values of order 1 after three blocks) and the
/// probabilities below 1e-5; the frame decision must be the same.
@Suite("Signal expert parity with PyTorch")
struct SignalExpertParityTests {
    struct Index: Decodable {
        var scenes: [Scene]
    }

    struct Scene: Decodable {
        var name: String
        var decision: String
    }

    struct Decision: Decodable {
        var state: String
        var kind: String?
        var position: String?
        var candidate: Int?
        var confidence: Double
        var why: String?
        /// The green verifier's smallest green on the walk candidate, when it read one.
        var verified: Double?
        /// The candidate the second look set aside, when it did.
        var setAside: Int?
        /// The seconds the countdown reader read beside a red or green lamp, and the probability
        /// of the class it read, when it read one.
        var secondsLeft: Int?
        var countdownP: Double?

        enum CodingKeys: String, CodingKey {
            case state, kind, position, candidate, confidence, why, verified
            case setAside = "set_aside"
            case secondsLeft = "seconds_left"
            case countdownP = "countdown_p"
        }
    }

    static let folder = Programs.repository.appendingPathComponent("Tests/Fixtures/signal")

    @Test("Candidates, embeddings, probabilities and the decision match PyTorch on every fixture")
    func matchesPyTorch() throws {
        let model = try ParityTests.model()
        let expert = try #require(model.signalExpert, "the shipped model has a signal expert")
        let c = model.configuration
        let state = SignalExpert.State(expert)
        let index = try JSONDecoder().decode(Index.self, from: Data(contentsOf: Self.folder.appendingPathComponent("index.json")))
        #expect(index.scenes.count >= 5)
        for scene in index.scenes {
            let image = try Image.decode(file: Self.folder.appendingPathComponent("\(scene.name).png").path)
            let decision = try expert.read(image, mean: c.preprocessing.mean, std: c.preprocessing.std, state: state)

            let candidates = try JSONDecoder().decode(
                [[Int]].self, from: Data(contentsOf: Self.folder.appendingPathComponent("\(scene.name).candidates.json")))
            #expect(state.candidates.map { [$0.x0, $0.y0, $0.x1, $0.y1] } == candidates.map { Array($0[0..<4]) }, "\(scene.name)")

            let features = try NumpyArray(contentsOf: Self.folder.appendingPathComponent("\(scene.name).features.npy"))
            let probabilities = try NumpyArray(contentsOf: Self.folder.appendingPathComponent("\(scene.name).probabilities.npy"))
            let n = state.candidates.count
            #expect(features.shape == [n, expert.featureWidth])
            let geometry = try NumpyArray(contentsOf: Self.folder.appendingPathComponent("\(scene.name).geometry.npy"))
            var worstFeature: Float = 0, worstProbability: Float = 0
            let row = expert.featureWidth + SignalExpert.geometryCount
            for c in 0..<n {
                for j in 0..<expert.featureWidth {
                    worstFeature = max(worstFeature, abs(state.features.storage[c * row + j] - features.floats[c * expert.featureWidth + j]))
                }
                for j in 0..<SignalExpert.geometryCount {
                    // one float32 division of exact integers on both sides: identical
                    #expect(state.features.storage[c * row + expert.featureWidth + j] == geometry.floats[c * SignalExpert.geometryCount + j])
                }
            }
            for i in 0..<(n * 6) {
                worstProbability = max(worstProbability, abs(state.probabilities.storage[i] - probabilities.floats[i]))
            }
            #expect(worstFeature < 1e-4, "\(scene.name): embeddings differ by \(worstFeature)")
            #expect(worstProbability < 1e-5, "\(scene.name): probabilities differ by \(worstProbability)")

            // The green confirmation's views: the same integer rectangles for every candidate, and
            // where PyTorch read them (a green to confirm), the same probabilities.
            let rects = try JSONDecoder().decode(
                [[[Int]]].self, from: Data(contentsOf: Self.folder.appendingPathComponent("\(scene.name).confirmation_rects.json")))
            #expect(rects.count == n)
            for (candidate, expected) in zip(state.candidates, rects) {
                let swift = (0..<LampCandidate.confirmationViews.count).map {
                    let r = candidate.confirmationRect($0, frameWidth: image.width, frameHeight: image.height)
                    return [r.x, r.y, r.width, r.height]
                }
                #expect(swift == expected, "\(scene.name)")
            }
            let viewsFile = Self.folder.appendingPathComponent("\(scene.name).views.npy")
            if FileManager.default.fileExists(atPath: viewsFile.path) {
                let views = try NumpyArray(contentsOf: viewsFile)
                #expect(views.shape == [LampCandidate.confirmationViews.count, 6])
                var worst: Float = 0
                for i in 0..<views.floats.count { worst = max(worst, abs(state.viewProbabilities.storage[i] - views.floats[i])) }
                #expect(worst < 1e-5, "\(scene.name): confirmation view probabilities differ by \(worst)")
            }

            // The green verifier's squares of the candidate it read last: the same probabilities.
            let verifierFile = Self.folder.appendingPathComponent("\(scene.name).verifier.npy")
            if FileManager.default.fileExists(atPath: verifierFile.path) {
                let expected = try NumpyArray(contentsOf: verifierFile)
                let probabilities = try #require(state.verifierProbabilities, "\(scene.name): a verifier fixture, but the model has no verifier")
                #expect(expected.shape == [SignalExpert.verifierViews, 2])
                var worst: Float = 0
                for i in 0..<expected.floats.count { worst = max(worst, abs(probabilities.storage[i] - expected.floats[i])) }
                #expect(worst < 1e-5, "\(scene.name): verifier probabilities differ by \(worst)")
            }

            let reference = try JSONDecoder().decode(
                Decision.self, from: Data(contentsOf: Self.folder.appendingPathComponent("\(scene.name).decision.json")))
            #expect(decision.state.rawValue == reference.state, "\(scene.name)")
            #expect(decision.reason?.rawValue == reference.why, "\(scene.name)")
            #expect(abs(decision.confidence - reference.confidence) < 1e-5, "\(scene.name)")
            #expect(decision.kind?.rawValue == reference.kind, "\(scene.name)")
            #expect(decision.position?.rawValue == reference.position, "\(scene.name)")
            #expect(decision.candidate == reference.candidate, "\(scene.name)")
            #expect(decision.setAsideCandidate == reference.setAside, "\(scene.name)")
            #expect((decision.verifierGreen == nil) == (reference.verified == nil), "\(scene.name)")
            if let swift = decision.verifierGreen, let python = reference.verified {
                #expect(abs(swift - python) < 1e-5, "\(scene.name): verifier green \(swift) vs \(python)")
            }

            // The countdown reader's square beside a red or green lamp: the same probabilities and seconds.
            #expect(decision.secondsLeft == reference.secondsLeft, "\(scene.name)")
            #expect((decision.countdownProbability == nil) == (reference.countdownP == nil), "\(scene.name)")
            if let swift = decision.countdownProbability, let python = reference.countdownP {
                #expect(abs(swift - python) < 1e-5, "\(scene.name): countdown probability \(swift) vs \(python)")
            }
            let countdownFile = Self.folder.appendingPathComponent("\(scene.name).countdown.npy")
            if FileManager.default.fileExists(atPath: countdownFile.path) {
                let expected = try NumpyArray(contentsOf: countdownFile)
                let rows = try #require(state.countdownRows, "\(scene.name): a countdown fixture, but the model has no countdown reader")
                #expect(expected.shape == [SignalExpertConfiguration.CountdownReader.knownClasses.count])
                var worst: Float = 0
                for i in 0..<expected.floats.count { worst = max(worst, abs(rows.probabilities.storage[i] - expected.floats[i])) }
                #expect(worst < 1e-5, "\(scene.name): countdown probabilities differ by \(worst)")
            }
        }
    }

    @Test("A model written before figure candidates, the frame-filling rule, the lamp figure, the colourless or the noise rule is refused, naming the constants",
          arguments: ["\"figure_from\": 4,\n   \"figure_growth\": 2,\n   ", "\"whole_frame_filling\": 1,\n   ",
                      "\"cluster_cell_pct\": 3,\n   \"cluster_min_pct\": 8,\n   \"cluster_max_pct\": 75,\n   \"cluster_max\": 1,\n   \"cluster_side_sixteenths\": 5,\n   ",
                      "\"colourless_chroma\": 8,\n   ", "\"noise_tile\": 16,\n   \"noise_chroma\": 6,\n   "])
    func refusesModelWithoutNewerProposalRules(constants: String) throws {
        let url = Programs.repository.appendingPathComponent("models/default/config.json")
        let text = try String(contentsOf: url, encoding: .utf8)
        #expect(text.contains(constants), "config.json layout changed: update this test's edit")
        _ = try ModelConfiguration(json: Array(text.utf8), path: "config.json")
        do {
            _ = try ModelConfiguration(json: Array(text.replacingOccurrences(of: constants, with: "").utf8), path: "config.json")
            Issue.record("a config without \(constants) was accepted")
        } catch {
            #expect(error.description.contains("proposal constants"), "\(error.description)")
        }
    }

    /// The shipped model's signal expert on fixture `name`: the expert, its state after the read,
    /// the verifier's bar, and the frame's decision.
    func readWithVerifier(_ name: String) throws -> (expert: SignalExpert, state: SignalExpert.State, verify: Double, decision: SignalDecision) {
        let model = try ParityTests.model()
        let expert = try #require(model.signalExpert)
        try #require(expert.verifier != nil, "the shipped model has a green verifier")
        let c = model.configuration
        let verify = try #require(c.signalExpert?.thresholds.verify)
        let state = SignalExpert.State(expert)
        let image = try Image.decode(file: Self.folder.appendingPathComponent("\(name).png").path)
        let decision = try expert.read(image, mean: c.preprocessing.mean, std: c.preprocessing.std, state: state)
        return (expert, state, verify, decision)
    }

    @Test("The shipped model's green verifier turns down a green that held in every view")
    func verifierTurnsDownAGreen() throws {
        let (_, _, verify, decision) = try readWithVerifier("green_not_verified")
        #expect(decision.state == .unknown)
        #expect(decision.reason == .greenNotVerified)
        #expect(try #require(decision.verifierGreen) < verify)
    }

    /// The calibration's greenest non-green frame (an unlit close-up with a green pharmacy cross
    /// the shipped reader calls a walk lamp) is the one the verifier's bar has least room above: a
    /// model that walks on it has lost the calibration it shipped with. A later model may stop it
    /// earlier; only walking on it fails.
    @Test("The shipped model does not walk on the greenest non-green frame of its calibration, a green pharmacy cross")
    func pharmacyCrossIsNoWalk() throws {
        let (_, _, verify, decision) = try readWithVerifier("pharmacy_cross")
        #expect(decision.state != .green)
        if let green = decision.verifierGreen { #expect(green < verify) }
    }

    @Test("The shipped model walks on a standby its verifier passes after turning down the green before it")
    func verifiedStandbyWalks() throws {
        let (expert, state, verify, decision) = try readWithVerifier("verified_standby_walk")
        let reference = try JSONDecoder().decode(
            TurnedDown.self, from: Data(contentsOf: Self.folder.appendingPathComponent("verified_standby_walk.decision.json")))
        #expect(decision.state == .green)
        #expect(try #require(decision.verifierGreen) >= verify)
        // The lamp the verifier turned down (in PyTorch) is the first decision's walk lamp, or the
        // standby that walked in its place when that lamp failed its views; the lamp announced is
        // another of the first decision's standbys.
        var figures: UInt32 = 0
        for (n, candidate) in state.candidates.enumerated() where candidate.isFigure { figures |= 1 << UInt32(n) }
        let first = expert.decide(state, setAside: figures)
        let turnedDown = UInt32(reference.turnedDown)
        #expect(first.candidate == reference.turnedDown || first.standbyGreens & (1 << turnedDown) != 0)
        let announced = try #require(decision.candidate)
        #expect(announced != reference.turnedDown)
        #expect(first.standbyGreens & (1 << UInt32(announced)) != 0)
    }

    /// The candidate a fixture's verifier turned down before a standby walked (signal_model.confirm_verified_standby).
    struct TurnedDown: Decodable {
        var turnedDown: Int
        enum CodingKeys: String, CodingKey { case turnedDown = "turned_down" }
    }

    @Test("The shipped model lets a red speck far smaller than the walk lamp pass; at every size it would veto")
    func smallStopIgnored() throws {
        let model = try ParityTests.model()
        let expert = try #require(model.signalExpert)
        let side = try #require(expert.configuration.thresholds.redVetoSide, "the shipped model sets thresholds.red_veto_side")
        #expect(side > 0 && side < 1)
        let c = model.configuration
        let state = SignalExpert.State(expert)
        let image = try Image.decode(file: Self.folder.appendingPathComponent("small_stop_ignored.png").path)
        _ = try expert.read(image, mean: c.preprocessing.mean, std: c.preprocessing.std, state: state)
        func firstDecision(_ thresholds: SignalExpertConfiguration.Thresholds) -> SignalDecision {
            var rows = Array(state.probabilities.storage[0..<(state.candidates.count * 6)])
            return rows.withUnsafeMutableBufferPointer {
                SignalDecision(candidates: state.candidates, probabilities: $0, classes: 6, frameWidth: image.width, thresholds: thresholds)
            }
        }
        var everySize = expert.configuration.thresholds
        everySize.redVetoSide = nil
        #expect(firstDecision(everySize).reason == .redLampInView)
        let shipped = firstDecision(expert.configuration.thresholds)
        #expect(shipped.reason != .redLampInView)
        #expect(shipped.state == .green)
    }

    @Test("With the shipped view_misses, a walk lamp one view reads short is announced; with every view required it is not")
    func viewMissHeld() throws {
        let model = try ParityTests.model()
        let expert = try #require(model.signalExpert)
        let misses = try #require(expert.configuration.thresholds.viewMisses, "the shipped model sets thresholds.view_misses")
        #expect(misses > 0)
        let c = model.configuration
        let image = try Image.decode(file: Self.folder.appendingPathComponent("view_miss_held.png").path)
        let said = try expert.read(image, mean: c.preprocessing.mean, std: c.preprocessing.std, state: SignalExpert.State(expert))
        #expect(said.state == .green)
        #expect(said.confidence >= expert.configuration.thresholds.green)
        var everyView = expert
        everyView.configuration.thresholds.viewMisses = 0
        let strict = try everyView.read(image, mean: c.preprocessing.mean, std: c.preprocessing.std, state: SignalExpert.State(everyView))
        #expect(strict.state == .unknown)
        #expect(strict.reason == .greenNotConfirmed)
    }

    @Test("The shipped model's second look reads the stop lamp behind a green the verifier calls no lamp; without it, unknown")
    func secondLookStop() throws {
        let model = try ParityTests.model()
        let expert = try #require(model.signalExpert)
        try #require(expert.configuration.thresholds.setAside != nil, "the shipped model sets thresholds.set_aside")
        let c = model.configuration
        let image = try Image.decode(file: Self.folder.appendingPathComponent("second_look_stop.png").path)
        let said = try expert.read(image, mean: c.preprocessing.mean, std: c.preprocessing.std, state: SignalExpert.State(expert))
        #expect(said.state == .red || said.state == .yellow)
        let setAside = try #require(said.setAsideCandidate)
        #expect(said.candidate != setAside)
        #expect(said.setAsideBox == (try state(of: expert, image, c)).candidates[setAside])
        #expect(try #require(said.setAsideVerifierGreen) < (expert.configuration.thresholds.setAside ?? 0))
        var oneLook = expert
        oneLook.configuration.thresholds.setAside = nil
        let doubt = try oneLook.read(image, mean: c.preprocessing.mean, std: c.preprocessing.std, state: SignalExpert.State(oneLook))
        #expect(doubt.state == .unknown)
        #expect(doubt.doubtsGreen)
        #expect(doubt.candidate == setAside)
    }

    /// A fresh stream state after reading `image` (its candidates).
    private func state(of expert: SignalExpert, _ image: Image, _ c: ModelConfiguration) throws -> SignalExpert.State {
        let state = SignalExpert.State(expert)
        _ = try expert.read(image, mean: c.preprocessing.mean, std: c.preprocessing.std, state: state)
        return state
    }

    @Test("A second frame of the same size reuses the stream's memory and reads the same")
    func repeatable() throws {
        let model = try ParityTests.model()
        let expert = try #require(model.signalExpert)
        let c = model.configuration
        let state = SignalExpert.State(expert)
        let image = try Image.decode(file: Self.folder.appendingPathComponent("green_closeup.png").path)
        let first = try expert.read(image, mean: c.preprocessing.mean, std: c.preprocessing.std, state: state)
        let second = try expert.read(image, mean: c.preprocessing.mean, std: c.preprocessing.std, state: state)
        #expect(first == second)
    }
}
