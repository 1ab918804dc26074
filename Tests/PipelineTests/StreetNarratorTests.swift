import Foundation
import Fusion
import Imaging
import Narrator
import Pipeline
import Testing
import Vision

/// The glue between the model and the tracker, on the shipped model and the sample scenes.
@Suite("StreetNarrator")
struct StreetNarratorTests {
    static func sample(_ name: String) throws -> Image {
        try Image.decode(file: Programs.repository.appendingPathComponent("samples/images/\(name)").path)
    }

    @Test("Without a signal expert the tracker's evidence is the heads' distribution, unchanged")
    func perceptionCarriesTheHeads() throws {
        let model = try ParityTests.model()
        let c = model.configuration
        let stream = StreetModel.Stream(model)
        try stream.preprocess(try Self.sample("05_vehicle_red.jpg"))
        stream.perceive()
        let reading = FrameReading(stream.heads, configuration: c)
        #expect(reading.signal == nil)
        let perception = reading.perception(time: 1.5, configuration: c)
        #expect(perception.time == 1.5)
        for (label, p) in zip(c.lightStates, reading.lightProbabilities) {
            let frameClass = try #require(FrameLightClass(rawValue: label))
            #expect(perception.light.state[frameClass] == Double(p))
        }
        #expect(perception.light.kind == .vehicle)
        #expect(perception.crosswalk.presence == Double(reading.crosswalkProbability))
        let facts = reading.facts(time: 1.5, configuration: c)
        #expect(perception.obstacles.map(\.kind) == facts.obstacles.map(\.kind))
        #expect(perception.light.position == facts.light?.position)
    }

    @Test("With the signal expert the light facts and the tracker's evidence come from its decision")
    func perceptionCarriesTheSignalExpert() throws {
        let model = try ParityTests.model()
        let c = model.configuration
        let stream = StreetModel.Stream(model)
        let image = try Self.sample("02_pedestrian_red_closeup.jpg")
        try stream.preprocess(image)
        stream.perceive()
        try stream.readSignal(image)
        let reading = FrameReading(stream)
        let decision = try #require(reading.signal)
        #expect(decision.state == .red)
        let facts = reading.facts(time: 0, configuration: c)
        #expect(facts.light?.state == .red)
        #expect(facts.light?.kind == .pedestrian)
        #expect(facts.light?.position == decision.position)
        let perception = reading.perception(time: 0, configuration: c)
        #expect(perception.light.state.green == 0)
        #expect(perception.light.state.mostLikely.state == .red)
    }

    @Test("With the obstacle expert the facts, the tracker's evidence and the still description carry its obstacles")
    func factsCarryTheObstacleExpert() throws {
        let model = try ParityTests.model()
        let c = model.configuration
        let expert = try #require(model.obstacleExpert, "the shipped model has an obstacle expert")
        let stream = StreetModel.Stream(model)
        let image = try Self.sample("11_obstacles_several.jpg")
        try stream.preprocess(image)
        stream.perceive()
        let unread = FrameReading(stream)
        #expect(unread.expertObstacles == nil, "no obstacles before the expert read the frame")
        try stream.readObstacles(image)
        let reading = FrameReading(stream)
        let found = expert.detections(try #require(stream.obstacles))
        #expect(!found.isEmpty, "the expert finds the obstacles of the obstacle sample")
        #expect(reading.expertObstacles == found)
        let facts = reading.facts(time: 0, configuration: c)
        #expect(facts.obstacles.map { "\($0.kind) \($0.position) \($0.distance)" } == found.map { "\($0.kind) \($0.position) \($0.distance)" })
        #expect(reading.perception(time: 0, configuration: c).obstacles == found)
        // The next frame's reading never carries this frame's obstacles.
        try stream.preprocess(try Self.sample("15_nothing_in_view.jpg"))
        #expect(FrameReading(stream).expertObstacles == nil)
        // Said in the still description even when the caption leaves them out.
        let described = StillDescription.compose(facts: facts, caption: "", language: .english)
        for sentence in CaptionGuard.factSentences(crosswalk: nil, obstacles: Array(facts.obstacles.prefix(StillDescription.maxObstacles)), mandarin: false) {
            #expect(described.contains(sentence), "\(described)")
        }
        // Four obstacles: the three said are the near ones and, among equals, the one ahead first.
        let many = SceneFacts(
            time: 0, light: nil, crosswalk: nil,
            obstacles: [
                .init(kind: "tree", position: .left, distance: .far, confidence: 0.99),
                .init(kind: "car", position: .right, distance: .near, confidence: 0.6),
                .init(kind: "person", position: .ahead, distance: .near, confidence: 0.55),
                .init(kind: "cone", position: .ahead, distance: .mid, confidence: 0.9),
            ], description: nil)
        #expect(StillDescription.compose(facts: many, caption: "", language: .english)
                    == "Person ahead, close. Car on your right, close. Cone ahead.")
    }

    @Test("A green frame counts towards confirmation only at the signal expert's own green threshold")
    func trackerUsesTheModelsGreenThreshold() throws {
        let model = try ParityTests.model()
        let tuned = SceneTrackerConfig.tuned(for: model.configuration, frameRate: 2)
        let green = try #require(model.configuration.signalExpert).thresholds.green
        #expect(tuned.greenFrameProbability == max(SceneTrackerConfig().greenFrameProbability, green))
        #expect(tuned.freshness.maxAge == 0.75)
        #expect(SceneTrackerConfig.tuned(for: model.configuration, frameRate: 30).freshness.maxAge == SceneTrackerConfig().freshness.maxAge)
    }

    @Test("Red is said on the first frame; a stalled camera makes the scene stale and is said at once")
    func redThenStall() throws {
        let narrator = StreetNarrator(model: try ParityTests.model())
        let red = try Self.sample("00_pedestrian_red_street.jpg")
        let first = try narrator.observe(red, at: 0)
        #expect(first.scene.light?.status == .red)
        #expect(first.utterances.first?.text == "Wait.")
        for frame in 1...5 {
            #expect(try narrator.observe(red, at: Double(frame) * 0.1).utterances.isEmpty)
        }
        let stalled = narrator.idle(at: 1.2)
        #expect(stalled.scene.isStale && stalled.scene.light == nil)
        #expect(stalled.utterances.map(\.message) == [.cameraBlocked])
        #expect(stalled.utterances.first?.interrupts == true)
        let described = narrator.describe(at: 1.2)
        #expect(described.utterances.map(\.message) == [.cameraBlocked])
    }

    @Test("A still without colour is described with its cause; a status that does not match the facts is ignored")
    func stillWithoutColour() throws {
        let model = try ParityTests.model()
        let stream = StreetModel.Stream(model)
        let grey = try Image.decode(file: SignalExpertParityTests.folder.appendingPathComponent("colourless.png").path)
        try stream.preprocess(grey)
        stream.perceive()
        try stream.readExperts(grey)
        let reading = FrameReading(stream)
        #expect(reading.lightStatus == .noColour)
        let facts = reading.facts(time: 0, configuration: model.configuration)
        #expect(StillDescription.compose(facts: facts, caption: "", language: .english, lightStatus: reading.lightStatus)
                    .hasPrefix("Signal unclear. The camera sees no colour."))
        #expect(StillDescription.compose(facts: facts, caption: "", language: .mandarin, lightStatus: reading.lightStatus)
                    .hasPrefix("信号不清。画面没有颜色。"))
        let red = SceneFacts(time: 0, light: .init(kind: .pedestrian, state: .red, confidence: 0.9, position: .ahead), crosswalk: nil, obstacles: [], description: nil)
        #expect(StillDescription.compose(facts: red, caption: "", language: .english, lightStatus: .noColour) == "Wait.")
        // A coloured frame says nothing of colour.
        try stream.preprocess(try Self.sample("00_pedestrian_red_street.jpg"))
        stream.perceive()
        try stream.readExperts(try Self.sample("00_pedestrian_red_street.jpg"))
        #expect(FrameReading(stream).lightStatus == nil)
    }

    /// colourless.png: a grey render of a lit green (lamps step 9); colour_noise.png: a grey render
    /// of a lit red whose colour noise passes step 9 but not step 10, which was said to have no
    /// signal before step 10. The expert reads both unknown, "no colour in the frame".
    @Test("A camera that shows no colour, or only its noise, is said once as such, in both languages, and a coloured red after it is said at once",
          arguments: ["colourless.png", "colour_noise.png"])
    func noColourIsSaidAsTheCamerasTrouble(file: String) throws {
        let narrator = StreetNarrator(model: try ParityTests.model())
        let grey = try Image.decode(file: SignalExpertParityTests.folder.appendingPathComponent(file).path)
        let first = try narrator.observe(grey, at: 0)
        #expect(first.scene.light?.status == .noColour)
        // The light first and only once; colour_noise.png's crossing is said after it.
        #expect(first.utterances.first?.text == "Signal unclear. The camera sees no colour.")
        #expect(first.utterances.filter { $0.text.lowercased().contains("signal") }.count == 1)
        let facts = first.facts(language: .english)
        #expect(facts.light?.state == .unknown && facts.light?.kind == nil && facts.light?.position == nil)
        #expect(facts.description?.hasPrefix("Signal unclear. The camera sees no colour.") == true)
        for frame in 1...30 {
            #expect(try narrator.observe(grey, at: Double(frame) * 0.1).utterances.isEmpty, "said again at frame \(frame)")
        }
        narrator.narration.language = .mandarin
        #expect(narrator.describe(at: 3.0).utterances.first?.text == "信号不清。画面没有颜色。")
        narrator.narration.language = .english
        let red = try Self.sample("00_pedestrian_red_street.jpg")
        let redMoment = try narrator.observe(red, at: 3.1)
        #expect(redMoment.scene.light?.status == .red)
        #expect(redMoment.utterances.first?.text == "Wait.")
    }

    @Test("Describe now speaks the tracked light and the caption without its signal sentences, in the chosen language")
    func describeNow() throws {
        let narrator = StreetNarrator(model: try ParityTests.model())
        let red = try Self.sample("10_crosswalk_right_with_light.jpg")
        let times = [0.0, 0.1, 0.2, 0.3]
        for time in times { _ = try narrator.observe(red, at: time) }
        let english = narrator.describe(at: 0.3).utterances.map(\.text).joined(separator: " ")
        #expect(english.hasPrefix("Wait."))
        #expect(!english.contains("Walk"))
        narrator.narration.language = .mandarin
        _ = try narrator.observe(red, at: 0.4)
        let mandarin = narrator.describe(at: 0.4).utterances.map(\.text).joined()
        #expect(!mandarin.isEmpty && mandarin.unicodeScalars.contains { $0.value >= 0x4E00 })
    }
}
