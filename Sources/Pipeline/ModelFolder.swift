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
        let weights = try SafetensorsFile(path: files[2].path)
        let model = try StreetModel(folder: folder, configuration: configuration, tokenizer: tokenizer, weights: weights, owner: weights)
        try ModelSelfTest.run(model)
        return model
    }
}
