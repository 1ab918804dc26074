import Foundation
import Imaging
@testable import Kernels
import ModelArtifact
import Pipeline
import TestSupport
import Testing
@testable import Vision

/// The Swift obstacle expert against PyTorch on Tests/Fixtures/obstacle
/// (training/lttw/obstacle_fixtures.py): the same preprocessing (OpenCV on both sides), the
/// trunk summing in another order than PyTorch (float32 rounding; a MobileNetV2 trunk also has its
/// batch norms folded into its convolutions at load), so the slot probabilities
/// agree within the index's tolerance and the obstacles read from them are the same.
@Suite("Obstacle expert parity with PyTorch")
struct ObstacleExpertParityTests {
    struct Index: Decodable {
        var tolerance: Float
        var threshold: Double
        var scenes: [Scene]
    }

    struct Scene: Decodable {
        var name: String
    }

    struct Obstacle: Decodable, Equatable {
        var kind: String
        var position: String
        var distance: String
        var confidence: Double
    }

    static let folder = Programs.repository.appendingPathComponent("Tests/Fixtures/obstacle")

    @Test("Slot probabilities and the obstacles read from them match PyTorch on every fixture")
    func matchesPyTorch() throws {
        let model = try ParityTests.model()
        let expert = try #require(model.obstacleExpert, "the shipped model has an obstacle expert")
        let state = ObstacleExpert.State(expert)
        let index = try JSONDecoder().decode(Index.self, from: Data(contentsOf: Self.folder.appendingPathComponent("index.json")))
        #expect(index.scenes.count >= 4)
        #expect(index.threshold == expert.configuration.threshold, "fixtures made with another threshold: regenerate them")
        var obstaclesSeen = 0
        for scene in index.scenes {
            let image = try Image.decode(file: Self.folder.appendingPathComponent("\(scene.name).png").path)
            try expert.read(image, state: state)
            let reference = try NumpyArray(contentsOf: Self.folder.appendingPathComponent("\(scene.name).probabilities.npy"))
            #expect(reference.shape == [expert.configuration.slotCount, expert.configuration.classCount])
            var worst: Float = 0
            for i in 0..<reference.floats.count {
                worst = max(worst, abs(state.probabilities.storage[i] - reference.floats[i]))
            }
            #expect(worst < index.tolerance, "\(scene.name): slot probabilities differ by \(worst)")

            let expected = try JSONDecoder().decode(
                [Obstacle].self, from: Data(contentsOf: Self.folder.appendingPathComponent("\(scene.name).obstacles.json")))
            let seen = expert.detections(state)
            #expect(seen.map { "\($0.kind) \($0.position.rawValue) \($0.distance.rawValue)" }
                        == expected.map { "\($0.kind) \($0.position) \($0.distance)" }, "\(scene.name)")
            for (s, e) in zip(seen, expected) {
                #expect(abs(s.confidence - e.confidence) < Double(index.tolerance), "\(scene.name) \(e.kind)")
            }
            obstaclesSeen += expected.count
        }
        #expect(obstaclesSeen > 0, "no fixture shows an obstacle the expert finds: the comparison of read-outs tests nothing")
    }

    /// A MobileNetV2 expert's architecture block, as merge-obstacle writes it.
    static let mobileNetArchitecture = """
        "architecture": {
           "image_size": 128,
           "token_features": 8,
           "trunk": "mobilenet_v2",
           "trunk_blocks": 14
          }
        """
    /// A ViT expert's block, as merge-obstacle writes it.
    static let vitArchitecture = """
        "architecture": {
           "image_size": 128, "patch_size": 8, "width": 96, "depth": 3, "heads": 3, "mlp_ratio": 4.0,
           "ln_eps": 1e-05, "token_features": 16, "stem": "conv", "stem_channels": [32, 64], "trunk": "vit"
          }
        """

    /// The shipped config.json with its obstacle expert's architecture block replaced by `block`
    /// (the rest of the file, weights aside, as shipped), whichever trunk ships.
    static func config(withObstacleArchitecture block: String) throws -> String {
        let text = try String(contentsOf: Programs.repository.appendingPathComponent("models/default/config.json"), encoding: .utf8)
        let expert = try #require(text.range(of: "\"obstacle_expert\": {"))
        let start = try #require(text.range(of: "\"architecture\": {", range: expert.upperBound..<text.endIndex))
        let end = try #require(text.range(of: "}", range: start.upperBound..<text.endIndex))
        return text.replacingCharacters(in: start.lowerBound..<end.upperBound, with: block)
    }

    /// Each edit applied to the obstacle expert's part of `text` (the green verifier's
    /// architecture names a trunk too) must be refused, naming `problem` after "obstacle_expert: ".
    static func expectRefused(_ text: String, _ edits: [(from: String, to: String, problem: String)]) {
        guard let expert = text.range(of: "\"obstacle_expert\": {") else {
            Issue.record("config.json has no obstacle_expert")
            return
        }
        for (from, to, problem) in edits {
            #expect(text[expert.lowerBound...].contains(from), "config.json layout changed: update this test's edit of \(problem)")
            let edited = text.replacingOccurrences(of: from, with: to, range: expert.lowerBound..<text.endIndex)
            do {
                _ = try ModelConfiguration(json: Array(edited.utf8), path: "config.json")
                Issue.record("an obstacle expert with a wrong \(problem) was accepted")
            } catch {
                #expect(error.description.contains("obstacle_expert: \(problem)"), "\(error.description)")
            }
        }
    }

    @Test("A model folder whose obstacle slots, kinds or trunk differ from this program's is refused")
    func refusesOtherSlotLayouts() throws {
        let mobileNet = try Self.config(withObstacleArchitecture: Self.mobileNetArchitecture)
        let vit = try Self.config(withObstacleArchitecture: Self.vitArchitecture)
        for text in [mobileNet, vit] {
            _ = try ModelConfiguration(json: Array(text.utf8), path: "config.json")
            Self.expectRefused(text, [
                ("\"left\",\n   \"ahead\",\n   \"right\"\n  ],\n  \"distances\"", "\"ahead\",\n   \"left\",\n   \"right\"\n  ],\n  \"distances\"",
                 "positions"),
                ("\"near\",\n   \"mid\",\n   \"far\"\n  ],\n  \"weights_prefix\": \"obstacle.\"",
                 "\"far\",\n   \"mid\",\n   \"near\"\n  ],\n  \"weights_prefix\": \"obstacle.\"", "distances"),
                ("\"kinds\": [\n   \"car\",\n   \"bicycle\",", "\"kinds\": [\n   \"bicycle\",\n   \"car\",", "kinds"),
            ])
        }
        Self.expectRefused(mobileNet, [
            ("\"trunk\": \"mobilenet_v2\"", "\"trunk\": \"resnet\"", "trunk \"resnet\" is neither"),
            ("\"trunk_blocks\": 14", "\"trunk_blocks\": 19", "trunk_blocks 19 outside 2…18"),
            ("\"image_size\": 128,\n   \"token_features\"", "\"image_size\": 120,\n   \"token_features\"",
             "image_size 120 is not a multiple of the trunk's stride 16"),
            ("\"image_size\": 128,\n   \"token_features\"", "\"image_size\": 1024,\n   \"token_features\"",
             "image_size 1024 is more than 512"),
            // A ViT named without its shape.
            ("\"trunk\": \"mobilenet_v2\"", "\"trunk\": \"vit\"", "a ViT trunk needs patch_size"),
        ])
        Self.expectRefused(vit, [
            ("\"stem\": \"conv\"", "\"stem\": \"dilated\"", "stem"),
            ("\"stem_channels\": [32, 64]", "\"stem_channels\": [32]", "a conv stem"),
            ("\"patch_size\": 8, \"width\": 96", "\"patch_size\": 7, \"width\": 96", "image_size 128 is not a multiple of patch_size 7"),
        ])
    }

    struct MobileNetFixture: Decodable {
        var obstacleExpert: ObstacleExpertConfiguration
        var scenes: [String]
        var tolerance: Float
    }

    static let mobileNetFolder = Programs.repository.appendingPathComponent("Tests/Fixtures/obstacle_mobilenet")

    /// The seeded expert's configuration (validated) and its mapped weights, which whatever is
    /// built from them points into: keep the file alive while they are used.
    static func mobileNetFixture() throws -> (MobileNetFixture, SafetensorsFile) {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let fixture = try decoder.decode(MobileNetFixture.self, from: Data(contentsOf: mobileNetFolder.appendingPathComponent("expert.json")))
        try fixture.obstacleExpert.validate(path: "expert.json", sceneKinds: fixture.obstacleExpert.kinds)
        return (fixture, try SafetensorsFile(path: mobileNetFolder.appendingPathComponent("expert.safetensors").path))
    }

    @Test("A MobileNetV2-trunk expert's tokens and slot probabilities match PyTorch, split over the lanes or on one")
    func mobileNetTrunkMatchesPyTorch() throws {
        let (fixture, weights) = try Self.mobileNetFixture()
        defer { withExtendedLifetime(weights) {} }
        let c = fixture.obstacleExpert
        let preprocessing = try ParityTests.model().configuration.preprocessing
        let expert = try ObstacleExpert(weights, configuration: c, mean: preprocessing.mean, std: preprocessing.std)
        guard case .mobileNet(let trunk) = expert.trunk else {
            Issue.record("the fixture's expert is not read by a MobileNetTrunk")
            return
        }
        #expect(trunk.outputSize == 4 && trunk.outputChannels == 64 && trunk.blocks.contains { $0.residual } && trunk.blocks[0].expansion == nil)
        #expect(fixture.scenes.count >= 4)
        // One state per way of reading, reused across the scenes: what one frame leaves in a
        // buffer must not reach the next.
        let states = [false: ObstacleExpert.State(expert), true: ObstacleExpert.State(expert)]
        for scene in fixture.scenes {
            let image = try Image.decode(file: Self.folder.appendingPathComponent("\(scene).png").path)
            for onThisThread in [false, true] {
                let state = try #require(states[onThisThread])
                if onThisThread { try expert.readOnThisThread(image, state: state) } else { try expert.read(image, state: state) }
                guard case .mobileNet(let trunkState) = state.trunk else {
                    Issue.record("a MobileNetV2 expert's state holds no MobileNetV2 activations")
                    return
                }
                let tokens = trunkState.tokens(trunk)
                let expectedTokens = try NumpyArray(contentsOf: Self.mobileNetFolder.appendingPathComponent("\(scene).tokens.npy"))
                try #require(expectedTokens.shape == [tokens.rows, tokens.columns])
                var worst: Float = 0, largest: Float = 0
                for r in 0..<tokens.rows {
                    for j in 0..<tokens.columns {
                        let reference = expectedTokens.floats[r * tokens.columns + j]
                        worst = max(worst, abs(tokens.row(r)[j] - reference))
                        largest = max(largest, abs(reference))
                    }
                }
                // Tokens of order 1–10: relative to the largest.
                #expect(worst < fixture.tolerance * max(1, largest), "\(scene): tokens differ by \(worst) (largest \(largest))")
                let expected = try NumpyArray(contentsOf: Self.mobileNetFolder.appendingPathComponent("\(scene).probabilities.npy"))
                try #require(expected.shape == [c.slotCount, c.classCount])
                var worstP: Float = 0
                for i in 0..<expected.floats.count { worstP = max(worstP, abs(state.probabilities.storage[i] - expected.floats[i])) }
                #expect(worstP < fixture.tolerance, "\(scene) on \(onThisThread ? "one lane" : "the lanes"): probabilities differ by \(worstP)")
            }
        }
    }

    /// Runs a trunk pass and notes how many lanes shared it.
    struct CountedPass: ParallelWork {
        final class Lanes: @unchecked Sendable {
            let lock = NSLock()
            var most = 0
        }
        let pass: MobileNetTrunk.Pass
        let lanes: Lanes

        func run(_ lane: Lane) {
            lanes.lock.withLock { lanes.most = max(lanes.most, lane.count) }
            pass.run(lane)
        }
    }

    @Test("The trunk split over two lanes gives its one-lane tokens, frame after frame")
    func mobileNetTrunkSplitEqualsOneLane() throws {
        let (fixture, weights) = try Self.mobileNetFixture()
        defer { withExtendedLifetime(weights) {} }
        let layers = try #require(fixture.obstacleExpert.architecture.mobileNetLayers)
        let trunk = try MobileNetTrunk(weights, prefix: "obstacle.trunk", layers: layers, imageSize: fixture.obstacleExpert.architecture.imageSize)
        let size = trunk.imageSize
        let split = MobileNetTrunk.State(trunk), single = MobileNetTrunk.State(trunk)
        var random = SplitMix64(seed: 5)
        let lanes = CountedPass.Lanes()
        // A pool of its own: the shared one runs the work on the caller alone while another
        // test's stream holds it.
        let pool = WorkerPool(lanes: 2)
        defer { pool.shutdown() }
        for _ in 0..<8 {
            let image = (0..<(3 * size * size)).map { _ in Float(random.next() >> 40) / Float(1 << 24) * 4 - 2 }
            try image.withUnsafeBufferPointer { input in
                pool.run(CountedPass(pass: MobileNetTrunk.Pass(trunk: trunk, image: input, state: split), lanes: lanes))
                trunk.runOnThisThread(input, state: single)
                let a = split.tokens(trunk), b = single.tokens(trunk)
                // Each position's sums run in the same order on any lane: the same floats.
                for r in 0..<a.rows {
                    for j in 0..<a.columns where a.row(r)[j] != b.row(r)[j] {
                        try #require(Bool(false), "token \(r), feature \(j): \(a.row(r)[j]) split, \(b.row(r)[j]) on one lane")
                    }
                }
            }
        }
        #expect(lanes.most == 2, "the pass ran on \(lanes.most) lane(s), not split")
    }

    @Test("Of one kind at one side: the nearest slot's distance at the surest slot's confidence, in both readers (obstacle_expert.read)")
    func nearestAtSurest() throws {
        let model = try ParityTests.model()
        let expert = try #require(model.obstacleExpert)
        let c = expert.configuration
        let state = ObstacleExpert.State(expert)
        let p = state.probabilities.storage
        for slot in 0..<c.slotCount {
            for j in 0..<c.classCount { p[slot * c.classCount + j] = j == 0 ? 1 : 0 }
        }
        let car = 1 + (try #require(c.kinds.firstIndex(of: "car"))), person = 1 + (try #require(c.kinds.firstIndex(of: "person")))
        let ahead = try #require(c.positions.firstIndex(of: "ahead")), left = try #require(c.positions.firstIndex(of: "left"))
        func set(_ position: Int, _ distance: Int, _ kind: Int, _ value: Float) {
            let slot = position * c.distances.count + distance
            p[slot * c.classCount] = 1 - value
            p[slot * c.classCount + kind] = value
        }
        set(ahead, 0, car, 0.40)
        set(ahead, 2, car, 0.92)
        set(left, 1, person, 0.5)
        let found = expert.detections(state)
        #expect(found.map { "\($0.kind) \($0.position.rawValue) \($0.distance.rawValue)" } == ["car ahead near", "person left mid"])
        #expect(abs(found[0].confidence - 0.92) < 1e-6 && abs(found[1].confidence - 0.5) < 1e-6)
        var each: [String] = []
        expert.forEachDetection(state) { each.append("\($0.kind) \($0.position.rawValue) \($0.distance.rawValue)") }
        #expect(each.sorted() == ["car ahead near", "person left mid"])
    }
}
