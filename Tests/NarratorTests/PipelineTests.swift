import Fusion
import Narrator
import TestSupport
import Testing
import Vision

/// Tracker and policy together on scripted 10 fps sequences: what the wearer would hear, frame
/// by frame.
@Suite("Tracker and policy together")
struct PipelineTests {
    private func frame(_ index: Int, _ state: FrameLightClass, confidence: Double = 0.95) -> Perception {
        Perception(time: Double(index) / 10, light: LightEvidence(state: .certain(state, confidence: confidence)), crosswalk: .absent)
    }

    @Test("Red then green: 'Wait.' at frame 0, 'Signal changing.' at 23, 'Walk signal on.' at 28 (2.8 s)")
    func redToGreenHeard() {
        var tracker = SceneTracker()
        var policy = NarrationPolicy()
        var heard: [Int: [String]] = [:]
        for index in 0..<40 {
            let said = policy.narrate(tracker.update(frame(index, index < 20 ? .red : .green, confidence: 0.97)))
            if !said.isEmpty { heard[index] = said.map(\.text) }
        }
        #expect(heard == [0: ["Wait."], 23: ["Signal changing."], 28: ["Walk signal on."]])
    }

    @Test("Frames stop: 'Camera blocked.' interrupts once the newest frame is older than 0.5 s; 'Camera back.' when they return, and walk is not heard again until reconfirmed")
    func stallHeard() {
        var tracker = SceneTracker()
        var policy = NarrationPolicy()
        for index in 0..<20 {
            _ = policy.narrate(tracker.update(frame(index, .green)))
        }
        #expect(policy.narrate(tracker.scene(at: 2.4)).isEmpty)
        let lost = policy.narrate(tracker.scene(at: 2.41))
        #expect(lost.map(\.text) == ["Camera blocked."])
        #expect(lost.first?.interrupts == true)
        var heard: [Int: [String]] = [:]
        for index in 30..<40 {
            let said = policy.narrate(tracker.update(frame(index, .green)))
            if !said.isEmpty { heard[index] = said.map(\.text) }
        }
        #expect(heard == [30: ["Camera back.", "Signal changing."], 38: ["Walk signal on."]])
    }

    @Test("Never-green truth with confident green bursts up to 4 frames: 'Walk signal on.' is heard zero times")
    func neverGreenNeverWalk() {
        var random = SplitMix64(seed: 2024)
        var tracker = SceneTracker()
        var policy = NarrationPolicy(config: NarrationConfig(verbosity: .verbose))
        var walks = 0
        var spoken = 0
        var truth = FrameLightClass.red
        var index = 0
        while index < 5_000 {
            if Int.random(in: 0..<50, using: &random) == 0 {
                truth = [.red, .yellow, .none, .off].randomElement(using: &random)!
            }
            let burst = Int.random(in: 0..<10, using: &random) == 0 ? Int.random(in: 1...4, using: &random) : 0
            for _ in 0..<burst {
                for utterance in policy.narrate(tracker.update(frame(index, .green, confidence: 0.99))) {
                    spoken += 1
                    if utterance.message == .light(.green, .pedestrian) { walks += 1 }
                }
                index += 1
            }
            for utterance in policy.narrate(tracker.update(frame(index, truth, confidence: Double.random(in: 0.5...0.99, using: &random)))) {
                spoken += 1
                if utterance.message == .light(.green, .pedestrian) { walks += 1 }
            }
            index += 1
        }
        #expect(spoken > 50)
        #expect(walks == 0)
    }
}
