import Foundation
import Imaging
import Kernels
import ModelArtifact
import Pipeline
import Testing
@testable import Vision

/// A green verifier on MobileNetV2's first layers against PyTorch
/// (Tests/Fixtures/verifier_mobilenet, `python -m lttw.signal_fixtures --mobilenet_verifier`): a
/// seeded 8-layer verifier's green-or-not probabilities of the verifier squares of real fixture
/// candidates, and config.json's refusals of such a verifier.
@Suite("MobileNetV2 green verifier")
struct MobileNetVerifierParityTests {
    static let folder = Programs.repository.appendingPathComponent("Tests/Fixtures/verifier_mobilenet")
    static let scenes = Programs.repository.appendingPathComponent("Tests/Fixtures/signal")

    struct Fixture: Decodable {
        var greenVerifier: SignalExpertConfiguration.GreenVerifier
        var scenes: [String]
        var tolerance: Float
    }

    struct Squares: Decodable {
        var rects: [[Int]]
        var geometry: [Float]
    }

    /// Crops the test sampled itself, before the read.
    struct Presampled: CropSampling {
        func sample(_ index: Int, into rows: CropReader.Rows) {}
    }

    @Test("A MobileNetV2 verifier's probabilities of each verifier square match PyTorch, the squares split over the lanes or on one")
    func matchesPyTorch() throws {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let fixture = try decoder.decode(Fixture.self, from: Data(contentsOf: Self.folder.appendingPathComponent("verifier.json")))
        guard case .mobileNet(let architecture) = fixture.greenVerifier.network else {
            Issue.record("the fixture's verifier is not a MobileNetV2 one")
            return
        }
        let weights = try SafetensorsFile(path: Self.folder.appendingPathComponent("verifier.safetensors").path)
        defer { withExtendedLifetime(weights) {} }
        let verifier = try GreenVerifierReader(weights, fixture.greenVerifier)
        guard case .mobileNet(let reader) = verifier.network else {
            Issue.record("a MobileNetV2 architecture built another network")
            return
        }
        #expect(architecture.gridSide == 4 && reader.trunk.outputSize == 4 && verifier.cropSize == 64)
        let preprocessing = try ParityTests.model().configuration.preprocessing
        let views = SignalExpert.verifierViews
        let rows = verifier.rows(capacity: views)
        // Lanes made once and reused across the scenes: what one crop leaves in a buffer must not reach the next.
        let lanes = verifier.lanes()
        let oneLane = [MobileNetCropReader.LaneState(reader)]
        #expect(fixture.scenes.count == 3)
        for scene in fixture.scenes {
            let squares = try JSONDecoder().decode(Squares.self, from: Data(contentsOf: Self.folder.appendingPathComponent("\(scene).json")))
            let expected = try NumpyArray(contentsOf: Self.folder.appendingPathComponent("\(scene).probabilities.npy"))
            try #require(squares.rects.count == views && expected.shape == [views, 2] && squares.geometry.count == CropReader.geometryCount)
            let greens = (0..<views).map { expected.floats[2 * $0 + 1] }
            #expect(greens.max()! - greens.min()! > 0.05, "\(scene): the fixture's greens are too alike across the views to tell readers apart")
            let image = try Image.decode(file: Self.scenes.appendingPathComponent("\(scene).png").path)
            for (view, r) in squares.rects.enumerated() {
                try LampCrop.sample(
                    image, rect: PixelRect(x: r[0], y: r[1], width: r[2], height: r[3]), size: verifier.cropSize,
                    mean: preprocessing.mean, std: preprocessing.std, into: rows.crop(view))
                for (j, value) in squares.geometry.enumerated() { rows.geometry(view)[j] = value }
            }
            for split in [true, false] {
                for i in 0..<rows.probabilities.storage.count { rows.probabilities.storage[i] = Float.nan }
                if split {
                    try verifier.read(rows, count: views, lanes: lanes, sampling: Presampled())
                } else {
                    try reader.read(rows, count: views, lanes: oneLane, sampling: Presampled())
                }
                var worst: Float = 0
                for i in 0..<expected.floats.count { worst = max(worst, abs(rows.probabilities.storage[i] - expected.floats[i])) }
                #expect(worst < fixture.tolerance, "\(scene), split \(split): probabilities differ by \(worst)")
            }
        }
    }

    /// The shipped config.json with its green verifier's architecture replaced by `architecture`.
    static func config(withVerifierArchitecture architecture: String) throws -> String {
        let text = try String(contentsOf: Programs.repository.appendingPathComponent("models/default/config.json"), encoding: .utf8)
        let start = try #require(text.range(of: "\"green_verifier\": {\n   \"architecture\": {"))
        let end = try #require(text.range(of: "},", range: start.upperBound..<text.endIndex))
        return text.replacingCharacters(in: start.upperBound..<end.upperBound, with: architecture + ",")
    }

    static let mobileNetArchitecture = """

            "crop_size": 64,
            "trunk": "mobilenet_v2",
            "trunk_blocks": 14,
            "token_features": 24,
            "head_hidden": 64
           }
        """

    @Test("config.json's MobileNetV2 verifier is read as one, and a trunk this program cannot run is refused, naming the field")
    func refusesBadArchitectures() throws {
        let text = try Self.config(withVerifierArchitecture: Self.mobileNetArchitecture)
        let accepted = try ModelConfiguration(json: Array(text.utf8), path: "config.json")
        guard case .mobileNet(let a) = try #require(accepted.signalExpert?.greenVerifier).network else {
            Issue.record("a MobileNetV2 verifier was read as a patch reader")
            return
        }
        #expect(a.trunkBlocks == 14 && a.gridSide == 4 && a.tokenFeatures == 24)
        for (from, to, problem) in [
            ("\"trunk\": \"mobilenet_v2\"", "\"trunk\": \"resnet\"", "trunk \"resnet\" is not mobilenet_v2"),
            ("\"trunk_blocks\": 14", "\"trunk_blocks\": 1", "trunk_blocks 1 outside 2…18"),
            ("\"crop_size\": 64,\n    \"trunk\"", "\"crop_size\": 128,\n    \"trunk\"", "crop_size 128 is not the verifier's 64"),
            ("\"token_features\": 24", "\"token_features\": 0", "token_features 0 outside 1…256"),
        ] {
            #expect(text.contains(from), "config.json layout changed: update this test's edit of \(problem)")
            do {
                _ = try ModelConfiguration(json: Array(text.replacingOccurrences(of: from, with: to).utf8), path: "config.json")
                Issue.record("a verifier with \(problem) was accepted")
            } catch {
                #expect(error.description.contains("green_verifier: \(problem)"), "\(error.description)")
            }
        }
    }
}
