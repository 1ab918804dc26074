import Foundation
import Kernels
import ModelArtifact
import Narrator
import Vision

extension SafetensorsFile: WeightSource {
    public func values(_ name: String, shape: [Int]) throws -> UnsafeBufferPointer<Float> {
        try tensor(name, shape: shape).values
    }
}

extension StreetModel {
    /// The model shipped with the project, found from the working directory or, for programs run
    /// from a checkout, from the source tree.
    public static var defaultFolder: URL {
        if let override = ProcessInfo.processInfo.environment["LTTW_MODEL"] { return URL(fileURLWithPath: override) }
        let local = URL(fileURLWithPath: "models/default")
        if FileManager.default.fileExists(atPath: local.appendingPathComponent("config.json").path) { return local }
        return URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("models/default")
    }

    /// Loads a model folder: config.json, tokenizer.json and model.safetensors (memory-mapped),
    /// every tensor checked against the configuration. Each failure names the file and problem.
    public static func load(folder: URL) throws -> StreetModel {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isFolder), isFolder.boolValue else {
            throw ModelLoadError.notAFolder(folder.path)
        }
        let files = ["config.json", "tokenizer.json", "model.safetensors"].map { folder.appendingPathComponent($0) }
        for file in files where !FileManager.default.fileExists(atPath: file.path) {
            throw ModelLoadError.missingFile(file.path)
        }
        let configuration = try ModelConfiguration(contentsOf: files[0])
        let tokenizer = try Tokenizer(contentsOf: files[1])
        let weights = try SafetensorsFile(path: files[2].path, options: .modelFolder)
        // Only the green verifier's tensors are stored in half precision; a half tensor anywhere
        // else means a model exported in the wrong precision, refused as before widening existed.
        let halfPrefix = configuration.signalExpert?.greenVerifier?.weightsPrefix
        if let name = weights.names.first(where: { weights.infos[$0]?.dtype != .f32 && !(halfPrefix.map($0.hasPrefix) ?? false) }) {
            throw ModelLoadError.invalid(
                files[2].path,
                "tensor '\(name)' is \(weights.infos[name]!.dtype.rawValue); only the green verifier's matrices are stored in half "
                    + "precision (training/lttw/artifact.py, half_matrices) — the model was saved in the wrong precision: save it after .float()")
        }
        // A NaN or infinite weight turns every output it touches into NaN, and NaN compares false
        // with every threshold: a NaN light head read a red light as "No signal in view.".
        try weights.checkFinite()
        let usage = TensorUsage(weights)
        let model = try StreetModel(folder: folder, configuration: configuration, tokenizer: tokenizer, weights: usage, owner: weights)
        // Only now has every consumer (encoder, heads, projector, decoder and any expert the
        // model builds) read its tensors; a tensor nobody read means the config describes a
        // different model than the weights (a deeper checkpoint, a renamed module).
        try weights.checkAllUsed(usage.names)
        // Then the file as a whole against the CRC-32 recorded at export: it catches what the
        // checks above pass, tensors of one shape swapped or a value changed but still finite.
        if let recorded = configuration.weightsCrc32.flatMap({ UInt32($0, radix: 16) }) {
            let crc = weights.crc32
            guard crc == recorded else {
                throw ModelLoadError.invalid(
                    files[2].path,
                    "its CRC-32 is \(String(format: "%08x", crc)) but config.json's weights_crc32 says "
                        + "\(String(format: "%08x", recorded)): the weights are damaged or belong to another config.json; "
                        + "copy the model folder again as it was exported")
            }
        }
        // Last, the known-answer frames: the model must read them as shipped (safety rule 6).
        try ModelSelfTest.run(model)
        // The engine has packed every weight matrix into its own panels; the mapped originals
        // would otherwise stay resident beside them (~15 MB).
        weights.releaseResidentPages()
        return model
    }
}

/// Passes tensor reads through to the file and notes every name read, so the loader can refuse
/// weights that hold tensors no part of the model used. Used only during `StreetModel.init`, on
/// one thread.
final class TensorUsage: WeightSource {
    private let file: SafetensorsFile
    private(set) var names: Set<String> = []

    init(_ file: SafetensorsFile) {
        self.file = file
    }

    func values(_ name: String, shape: [Int]) throws -> UnsafeBufferPointer<Float> {
        let values = try file.values(name, shape: shape)
        names.insert(name)
        return values
    }
}

extension SafetensorsOptions {
    /// How a model folder's model.safetensors is opened: half-precision tensors are widened to
    /// float32 at load, because the green verifier's matrices are stored so
    /// (training/lttw/artifact.py, `half_matrices`: it keeps the weights under the issues' 20 MB).
    public static let modelFolder = SafetensorsOptions(convertHalfPrecision: true)
}
