import Foundation
import Imaging
import Pipeline
import Testing
@testable import Vision

/// The experts' fusion in the shipped model (training/lttw/fusion.py; numbers against PyTorch are
/// in `ParityTests`): when the decoder's memory is complete, and which model folders are refused.
@Suite("Expert fusion")
struct ExpertFusionTests {
    @Test("The fused decoder's memory is ready only once the frame is perceived and both experts have read it")
    func memoryWaitsForBothExperts() throws {
        let model = try ParityTests.model()
        let fusion = try #require(model.configuration.fusion, "the shipped model fuses its experts")
        let stream = StreetModel.Stream(model)
        let image = try Image.decode(file: Programs.repository.appendingPathComponent("samples/images/11_obstacles_several.jpg").path)
        var captions: [String] = []
        for order in 0..<3 {
            try stream.preprocess(image)
            #expect(!stream.prepareCaptionMemory(), "nothing read yet")
            switch order {
            case 0:
                stream.perceive()
                #expect(!stream.prepareCaptionMemory(), "the scene tokens alone do not make the memory")
                try stream.readExperts(image)
            case 1:
                try stream.readExperts(image)
                #expect(!stream.prepareCaptionMemory(), "the experts alone do not make the memory")
                stream.perceive()
            default:
                stream.perceive()
                try stream.readSignal(image)
                #expect(!stream.prepareCaptionMemory(), "the signal expert alone does not complete it")
                try stream.readObstacles(image)
            }
            #expect(stream.prepareCaptionMemory())
            #expect(stream.captionMemoryReady)
            #expect(stream.captionMemory.rows == model.configuration.architecture.visualTokens + fusion.tokens)
            captions.append(stream.caption(.english))
            // An expert reading again is fused again before the next caption.
            try stream.readObstacles(image)
            #expect(!stream.captionMemoryReady)
            #expect(stream.caption(.english) == captions.last)
            // A new frame empties it again: a caption never reads the last frame's experts.
            try stream.preprocess(image)
            #expect(!stream.captionMemoryReady)
        }
        #expect(!captions[0].isEmpty)
        #expect(Set(captions).count == 1, "the same frame read in another order is captioned the same: \(captions)")
    }

    @Test("A model folder whose fusion does not fit its experts or decoder is refused, naming the field")
    func refusesFusionThatDoesNotFit() throws {
        let url = Programs.repository.appendingPathComponent("models/default/config.json")
        let shipped = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        func edited(_ edit: (inout [String: Any]) -> Void) throws -> [UInt8] {
            var copy = shipped
            edit(&copy)
            return Array(try JSONSerialization.data(withJSONObject: copy))
        }
        func fusionArchitecture(_ key: String, _ change: @escaping (Int) -> Int) -> (inout [String: Any]) -> Void {
            { config in
                var fusion = config["fusion"] as! [String: Any]
                var architecture = fusion["architecture"] as! [String: Any]
                architecture[key] = change(architecture[key] as! Int)
                fusion["architecture"] = architecture
                config["fusion"] = fusion
            }
        }
        let cases: [(String, (inout [String: Any]) -> Void)] = [
            ("fusion: signal_features", fusionArchitecture("signal_features") { $0 + 1 }),
            ("fusion: dec_width", fusionArchitecture("dec_width") { $0 * 2 }),
            ("obstacle slots", fusionArchitecture("obstacle_slots") { $0 - 1 }),
            ("fusion: crossing_features", fusionArchitecture("crossing_features") { $0 + 1 }),
            ("fusion: it reads the signal and the obstacle experts", { $0["obstacle_expert"] = nil }),
            ("signal_tokens", fusionArchitecture("signal_tokens") { _ in 1000 }),
        ]
        for (problem, edit) in cases {
            let bytes = try edited(edit)
            do {
                _ = try ModelConfiguration(json: bytes, path: "config.json")
                Issue.record("a fusion with a wrong \(problem) was accepted")
            } catch {
                #expect(error.description.contains(problem), "\(error.description)")
            }
        }
        _ = try ModelConfiguration(json: try edited { _ in }, path: "config.json")
    }
}
