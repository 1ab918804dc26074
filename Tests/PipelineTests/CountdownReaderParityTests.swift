import Foundation
import Imaging
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
        var reads: [Read]

        struct Read: Decodable {
            var seconds: Int
            var probability: Double
        }
    }

    static let folder = Programs.repository.appendingPathComponent("Tests/Fixtures/countdown")

    @Test("Stem, blocks and the two softmax groups give PyTorch's probabilities; the seconds read are Python's")
    func matchesPyTorch() throws {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let fixture = try decoder.decode(Reads.self, from: Data(contentsOf: Self.folder.appendingPathComponent("reads.json")))
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
        var worst: Float = 0
        for i in 0..<(n * classes) { worst = max(worst, abs(rows.probabilities.storage[i] - expected.floats[i])) }
        #expect(worst < 1e-5, "probabilities differ by \(worst)")
        for (i, read) in fixture.reads.enumerated() {
            let swift = SignalExpert.seconds(of: rows.probabilities(i), tens: fixture.groups[0])
            #expect(swift.seconds == read.seconds)
            #expect(abs(swift.probability - read.probability) < 1e-5)
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
    }
}
