import Foundation
import Imaging
import Pipeline
import Testing
@testable import Vision

/// The Swift obstacle expert against PyTorch on Tests/Fixtures/obstacle
/// (training/lttw/obstacle_fixtures.py): the same preprocessing (OpenCV on both sides), the
/// encoder summing in another order than PyTorch (float32 rounding), so the slot probabilities
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

    @Test("A model folder whose obstacle slots, kinds or stem differ from this program's is refused")
    func refusesOtherSlotLayouts() throws {
        let url = Programs.repository.appendingPathComponent("models/default/config.json")
        let text = try String(contentsOf: url, encoding: .utf8)
        for (from, to, problem) in [
            ("\"left\",\n   \"ahead\",\n   \"right\"\n  ],\n  \"distances\"", "\"ahead\",\n   \"left\",\n   \"right\"\n  ],\n  \"distances\"",
             "positions"),
            ("\"near\",\n   \"mid\",\n   \"far\"\n  ],\n  \"weights_prefix\": \"obstacle.\"",
             "\"far\",\n   \"mid\",\n   \"near\"\n  ],\n  \"weights_prefix\": \"obstacle.\"", "distances"),
            ("\"kinds\": [\n   \"car\",\n   \"bicycle\",", "\"kinds\": [\n   \"bicycle\",\n   \"car\",", "kinds"),
            ("\"stem\": \"conv\"", "\"stem\": \"dilated\"", "stem"),
            ("\"stem\": \"conv\"", "\"stem\": \"conv\", \"trunk\": \"mobilenet_v2\"", "trunk \"mobilenet_v2\" runs in the Python"),
            ("\"stem_channels\": [\n    32,\n    64\n   ]", "\"stem_channels\": [\n    32\n   ]", "a conv stem"),
        ] {
            #expect(text.contains(from), "config.json layout changed: update this test's edit")
            let edited = text.replacingOccurrences(of: from, with: to)
            #expect(throws: ModelConfigurationError.self, "\(problem)") {
                _ = try ModelConfiguration(json: Array(edited.utf8), path: "config.json")
            }
            do {
                _ = try ModelConfiguration(json: Array(edited.utf8), path: "config.json")
            } catch {
                #expect(error.description.contains("obstacle_expert: \(problem)"), "\(error.description)")
            }
        }
        // The ViT trunk named as the training code now writes it is this program's own.
        let named = text.replacingOccurrences(of: "\"stem\": \"conv\"", with: "\"stem\": \"conv\", \"trunk\": \"vit\"")
        #expect(named != text)
        _ = try ModelConfiguration(json: Array(named.utf8), path: "config.json")
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
