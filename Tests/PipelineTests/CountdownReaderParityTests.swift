import Foundation
import Imaging
import Kernels
import ModelArtifact
import Pipeline
import Testing
@testable import Vision

/// The countdown reader's arithmetic against PyTorch (Tests/Fixtures/countdown, written by
/// `python -m lttw.countdown fixture`): a small reader of the same kind — a convolutional stem into
/// the blocks, two softmax groups (the tens, the ones) — with seeded weights. No shipped model has
/// a countdown reader yet (models/default/NOTES.md), so the parity is checked on this one.
@Suite("Countdown reader parity with PyTorch")
struct CountdownReaderParityTests {
    struct Reads: Decodable {
        var architecture: SignalExpertConfiguration.Architecture
        var temperature: Double
        var groups: [Int]
        var context: Int
        var reads: [Read]
        /// Signal fixtures read through the whole path (the shipped expert, then this reader).
        var scenes: [String: Scene]

        struct Read: Decodable {
            var seconds: Int
            var probability: Double
        }

        struct Scene: Decodable {
            var state: String
            var countdownP: Double?
            var secondsLeft: Int?
        }
    }

    /// The shipped model's tensors, with the fixture reader's under the signal expert's prefix.
    final class WithCountdownReader: WeightSource {
        let shipped: any WeightSource
        let reader: any WeightSource

        init(shipped: any WeightSource, reader: any WeightSource) {
            self.shipped = shipped
            self.reader = reader
        }

        func values(_ name: String, shape: [Int]) throws -> UnsafeBufferPointer<Float> {
            let prefix = "signal.countdown."
            return name.hasPrefix(prefix)
                ? try reader.values("countdown." + name.dropFirst(prefix.count), shape: shape)
                : try shipped.values(name, shape: shape)
        }
    }

    static func fixture() throws -> Reads {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(Reads.self, from: Data(contentsOf: folder.appendingPathComponent("reads.json")))
    }

    @Test("The whole path: the square beside the lamp announced red or green is read, with PyTorch's probability and seconds; none elsewhere")
    func readBesideTheAnnouncedLamp() throws {
        let fixture = try Self.fixture()
        let model = try ParityTests.model()
        var c = try #require(model.configuration.signalExpert)
        c.countdownReader = SignalExpertConfiguration.CountdownReader(
            architecture: fixture.architecture, classes: SignalExpertConfiguration.CountdownReader.knownClasses, groups: fixture.groups,
            weightsPrefix: "signal.countdown.", context: fixture.context, temperature: fixture.temperature, threshold: 0.5)
        let weights = WithCountdownReader(
            shipped: try SafetensorsFile(path: Programs.repository.appendingPathComponent("models/default/model.safetensors").path, options: .modelFolder),
            reader: try SafetensorsFile(path: Self.folder.appendingPathComponent("reader.safetensors").path))
        let expert = try SignalExpert(weights, configuration: c)
        let state = SignalExpert.State(expert)
        #expect(fixture.scenes.count == 3)
        for (name, reference) in fixture.scenes.sorted(by: { $0.key < $1.key }) {
            let image = try Image.decode(file: Programs.repository.appendingPathComponent("Tests/Fixtures/signal/\(name).png").path)
            let decision = try expert.read(image, mean: model.configuration.preprocessing.mean, std: model.configuration.preprocessing.std, state: state)
            #expect(decision.state.rawValue == reference.state, "\(name)")
            #expect((decision.countdownProbability == nil) == (reference.countdownP == nil), "\(name)")
            if let swift = decision.countdownProbability, let python = reference.countdownP {
                #expect(abs(swift - python) < 1e-5, "\(name): countdown probability \(swift) vs \(python)")
            }
            #expect(decision.secondsLeft == reference.secondsLeft, "\(name)")
        }
    }

    static let folder = Programs.repository.appendingPathComponent("Tests/Fixtures/countdown")

    @Test("Stem, blocks and the two softmax groups give PyTorch's probabilities; the seconds read are Python's")
    func matchesPyTorch() throws {
        let fixture = try Self.fixture()
        #expect(fixture.architecture.stemChannelsBetween == [8])
        let weights = try SafetensorsFile(path: Self.folder.appendingPathComponent("reader.safetensors").path)
        let classes = SignalExpertConfiguration.CountdownReader.knownClasses.count
        let reader = try CropReader(
            weights, geometry: fixture.architecture.geometry, prefix: "countdown.", headHidden: fixture.architecture.headHidden,
            classCount: classes, temperature: fixture.temperature, softmaxGroups: fixture.groups,
            stemChannels: fixture.architecture.stemChannelsBetween)
        #expect(reader.stem != nil)
        let squares = try NumpyArray(contentsOf: Self.folder.appendingPathComponent("squares.npy"))
        let geometry = try NumpyArray(contentsOf: Self.folder.appendingPathComponent("geometry.npy"))
        let expected = try NumpyArray(contentsOf: Self.folder.appendingPathComponent("probabilities.npy"))
        let n = fixture.reads.count
        let rows = CropReader.Rows(reader, capacity: n)
        let inputs = reader.geometry.inputCount
        for i in 0..<n {
            let crop = rows.crop(i)
            for j in 0..<inputs { crop[j] = squares.floats[i * inputs + j] }
            for j in 0..<CropReader.geometryCount { rows.geometry(i)[j] = geometry.floats[i * CropReader.geometryCount + j] }
        }
        reader.read(rows, count: n, lanes: reader.lanes())
        // 5e-5: this fixture's reader is 16 wide, so a rounding in one layer norm's sums moves a
        // probability more than in the shipped experts; the order in which the vector kernels sum
        // a row is not PyTorch's (worst seen 2.0e-5 on AVX-512, 5e-6 with the portable kernel).
        var worst: Float = 0
        for i in 0..<(n * classes) { worst = max(worst, abs(rows.probabilities.storage[i] - expected.floats[i])) }
        #expect(worst < 5e-5, "probabilities differ by \(worst)")
        for (i, read) in fixture.reads.enumerated() {
            let swift = SignalExpert.seconds(of: rows.probabilities(i), tens: fixture.groups[0])
            #expect(swift.seconds == read.seconds)
            #expect(abs(swift.probability - read.probability) < 5e-5)
        }
    }

    @Test("Seconds from the two groups: none, a number, one digit, a zero read as none, the first of equals")
    func secondsOfGroups() {
        func read(_ tens: [Float], _ ones: [Float]) -> (Int, Double) {
            let p = tens + ones
            return p.withUnsafeBufferPointer { SignalExpert.seconds(of: $0, tens: 7) }
        }
        let flatOnes = [Float](repeating: 0.1, count: 10)
        var ones4 = flatOnes
        ones4[4] = 0.5
        #expect(read([0.6, 0.1, 0.1, 0.1, 0.05, 0.05, 0], ones4) == (0, Double(Float(0.6))))
        #expect(read([0.1, 0.1, 0.1, 0.6, 0.05, 0.05, 0], ones4) == (24, Double(Float(0.6)) * Double(Float(0.5))))
        #expect(read([0.1, 0.6, 0.1, 0.1, 0.05, 0.05, 0], ones4).0 == 4)
        var ones0 = flatOnes
        ones0[0] = 0.5
        #expect(read([0.1, 0.6, 0.1, 0.1, 0.05, 0.05, 0], ones0).0 == 0)
        #expect(read([0.1, 0.1, 0.4, 0.4, 0, 0, 0], flatOnes).0 == 10)
    }

    @Test("The countdown square: the whole frame for the whole-frame candidate, else context × side on the centre")
    func countdownSquare() throws {
        // The cases of training/tests/test_countdown.py (countdown.countdown_rect), at context 5.
        let lamp = LampCandidate(x0: 10, y0: 20, x1: 16, y1: 30, colour: .green, score: 100, scale: 1)
        #expect(lamp.countdownRect(context: 5, frameWidth: 640, frameHeight: 480) == PixelRect(x: (26 - 50) >> 1, y: (50 - 50) >> 1, width: 50, height: 50))
        let speck = LampCandidate(x0: 5, y0: 5, x1: 7, y1: 7, colour: .red, score: 100, scale: 1)
        #expect(speck.countdownRect(context: 5, frameWidth: 640, frameHeight: 480).width == LampProposer.constants.cropMinSide)
        // An odd negative offset floors, as Python's //: (0 + 4 - 25) // 2 = -11, not -10.
        let odd = LampCandidate(x0: 0, y0: 0, x1: 4, y1: 5, colour: .green, score: 100, scale: 1)
        #expect(odd.countdownRect(context: 5, frameWidth: 640, frameHeight: 480) == PixelRect(x: -11, y: -10, width: 25, height: 25))
        // A figure (twice its blob) reads the square of its blob's size.
        let figure = LampCandidate(x0: 100, y0: 100, x1: 120, y1: 140, colour: .green, score: 100, scale: 3)
        #expect(figure.isFigure && figure.countdownRect(context: 5, frameWidth: 640, frameHeight: 480).width == 5 * figure.side)
        #expect(figure.side == 20)
        let whole = LampCandidate(x0: 0, y0: 0, x1: 300, y1: 200, colour: .wholeFrame, score: -1, scale: 0)
        #expect(whole.countdownRect(context: 5, frameWidth: 300, frameHeight: 200) == PixelRect(x: 0, y: 0, width: 300, height: 200))
    }
}
