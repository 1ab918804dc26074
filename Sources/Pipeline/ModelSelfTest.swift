import Foundation
import Imaging
import Vision

/// The known-answer check a model passes at every load (DESIGN.md safety rule 6): reference
/// frames with known truth — at least a red, a green and a no-signal frame — shipped in the
/// model folder and listed in config.json's `self_test`. Weights trained wrong, or a program that
/// reads them differently than the one that exported them, read one of them differently, and such
/// a model must not start: it would be trusted with a street crossing. (Damaged or swapped weights
/// are refused before, by the CRC-32 config.json records: a light-only check misses a swap of two
/// crossing heads.)
public enum ModelSelfTest {
    /// The light states a model with a signal expert must show among its known answers.
    static let requiredStates: Set<LightState> = [.red, .green, .none]

    /// Reads every known-answer frame with `model` and throws, naming the frame, what it should
    /// read and what it read, on the first that differs.
    public static func run(_ model: StreetModel) throws {
        let c = model.configuration
        guard let answers = c.selfTest else {
            if c.signalExpert != nil {
                throw ModelLoadError.invalid(
                    model.folder.appendingPathComponent("config.json").path,
                    "self_test is missing: a model with a signal expert must ship known-answer frames (red, green, no signal)")
            }
            return
        }
        let config = model.folder.appendingPathComponent("config.json").path
        var covered: Set<LightState> = []
        let stream = StreetModel.Stream(model)
        for answer in answers {
            guard let expected = LightState(rawValue: answer.light) else {
                throw ModelLoadError.invalid(config, "self_test: \"\(answer.light)\" is not a light state")
            }
            guard !answer.file.contains(".."), !answer.file.hasPrefix("/") else {
                throw ModelLoadError.invalid(config, "self_test: \(answer.file) must lie inside the model folder")
            }
            let file = model.folder.appendingPathComponent(answer.file)
            guard FileManager.default.fileExists(atPath: file.path) else { throw ModelLoadError.missingFile(file.path) }
            let image = try Image.decode(file: file.path)
            try stream.preprocess(image)
            stream.perceive()
            try stream.readSignal(image)
            let seen = FrameReading(stream).lightState(c)
            guard seen == expected else {
                throw ModelLoadError.selfTestFailed(file.path, expected: expected.rawValue, seen: seen.rawValue)
            }
            covered.insert(expected)
        }
        if c.signalExpert != nil, !requiredStates.isSubset(of: covered) {
            let missing = requiredStates.subtracting(covered).map(\.rawValue).sorted().joined(separator: ", ")
            throw ModelLoadError.invalid(config, "self_test has no known-answer frame for: \(missing)")
        }
    }
}
