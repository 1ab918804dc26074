import Foundation
import Imaging
import ModelArtifact

/// A model folder's config.json: architecture, preprocessing, head labels, calibration and the
/// operating thresholds. Written by training/lttw/artifact.py (format version 1).
public struct ModelConfiguration: Sendable, Decodable {
    public static let supportedFormatVersion = 1

    public var formatVersion: Int
    public var modelType: String
    public var architecture: Architecture
    public var preprocessing: PreprocessingSpec
    public var heads: [String: Head]
    public var obstacleKinds: [String]
    public var positions: [String]
    public var distances: [String]
    public var lightStates: [String]
    public var lightKinds: [String]
    public var calibration: Calibration
    public var thresholds: Thresholds
    public var languages: [String]
    public var params: Int?
    /// The signal expert that reads the light near full resolution; without one (older models)
    /// the light comes from the scene heads.
    public var signalExpert: SignalExpertConfiguration?
    /// The obstacle expert that says what stands where; without one (older models) the scene
    /// heads give the obstacles.
    public var obstacleExpert: ObstacleExpertConfiguration?
    /// The experts' tokens joined to the scene tokens for the caption decoder; without it the
    /// decoder attends to the scene tokens alone.
    public var fusion: ExpertFusionConfiguration?
    /// Known-answer frames shipped with the model and run at every load (DESIGN.md safety
    /// rule 6): files relative to the model folder and the light each must read as.
    public var selfTest: [KnownAnswer]?
    /// model.safetensors' CRC-32 as eight hex digits (`weights_crc32`, written by
    /// lttw.artifact with the weights): weights that do not match are refused at load. Absent in
    /// models exported before it (their weights are checked for structure and finiteness only).
    public var weightsCrc32: String?

    public struct KnownAnswer: Sendable, Decodable, Hashable {
        public var file: String
        public var light: String
    }

    public struct Architecture: Sendable, Decodable, Hashable {
        public var imageSize: Int
        public var patchSize: Int
        public var encWidth: Int
        public var encDepth: Int
        public var encHeads: Int
        public var encMlpRatio: Double
        public var useCls: Bool
        public var headHidden: Int
        /// Heads also see the max over the patches (absent in older configs: false).
        public var headMaxPool: Bool?
        /// Heads also see mean (and max) over the left / ahead / right column bands.
        public var headRegionPool: Bool?
        public var pool: Int
        public var decWidth: Int
        public var decDepth: Int
        public var decHeads: Int
        public var decMlpRatio: Double
        public var decMaxLen: Int
        public var vocabSize: Int
        public var tieLmHead: Bool
        public var lnEps: Float

        public var grid: Int { imageSize / patchSize }
        public var patchCount: Int { grid * grid }
        /// Encoder sequence: the class token (if any), then patches row by row.
        public var encoderTokens: Int { patchCount + (useCls ? 1 : 0) }
        /// Tokens the decoder attends to: the class token, then the pooled grid row by row.
        public var visualTokens: Int { (useCls ? 1 : 0) + (grid / pool) * (grid / pool) }
        public var encMlpWidth: Int { Int(Double(encWidth) * encMlpRatio) }
        /// Vectors the heads' feature concatenates, each `encWidth` wide.
        public var headFeatureParts: Int {
            let perPool = headMaxPool == true ? 2 : 1
            return (useCls ? 1 : 0) + perPool + (headRegionPool == true ? 3 * perPool : 0)
        }
        /// Patch-grid column ranges for left / ahead / right: a column whose centre lies left of
        /// 0.36 of the width is left, right of 0.64 is right (the position labels' cut-offs).
        public var columnBands: [Range<Int>] {
            let g = grid
            let labels = (0..<g).map { c -> Int in
                let centre = (Double(c) + 0.5) / Double(g)
                return centre < 0.36 ? 0 : centre > 0.64 ? 2 : 1
            }
            return (0..<3).map { band in
                let first = labels.firstIndex(of: band) ?? 0
                let last = labels.lastIndex(of: band) ?? -1
                return first..<(last + 1)
            }
        }
        public var decMlpWidth: Int { Int(Double(decWidth) * decMlpRatio) }
        public var encoderGeometry: EncoderGeometry {
            EncoderGeometry(
                imageSize: imageSize, patchSize: patchSize, width: encWidth, depth: encDepth, heads: encHeads,
                mlpWidth: encMlpWidth, useCls: useCls, lnEps: lnEps)
        }
    }

    public struct PreprocessingSpec: Sendable, Decodable, Hashable {
        public var inputSize: Int
        public var resize: String
        public var channelOrder: String
        public var mean: [Float]
        public var std: [Float]
    }

    public struct Head: Sendable, Decodable, Hashable {
        public var labels: [String]
        public var size: Int
        public var activation: String
    }

    public struct Calibration: Sendable, Decodable, Hashable {
        public var temperatures: [String: Float]
    }

    public struct Thresholds: Sendable, Decodable, Hashable {
        /// p(green) needed before a frame may say green at all (the tracker confirms further).
        public var green: Float
        /// Below this top probability the light is "unknown".
        public var abstain: Float
        public var obstacle: Float
        public var crosswalk: Float
    }

    /// The preprocessing recipe for `Imaging`.
    public var imagePreprocessing: Preprocessing {
        Preprocessing(inputSize: preprocessing.inputSize, interpolation: .area, mean: preprocessing.mean, std: preprocessing.std)
    }

    /// The largest config.json read: the shipped one is 5 KB; the limit keeps a wrong path (a
    /// video, a disk image) from being read into memory.
    public static let maxFileBytes = 1 << 20

    /// Reads and checks config.json: a regular file (never a FIFO or device, which could block or
    /// never end), strict JSON without duplicate keys, every number within its documented range
    /// (`ConfigurationLimits`) before it is decoded or used in arithmetic, then the relations
    /// between the fields, the label sets and the memory the model will need.
    public init(contentsOf url: URL) throws(ModelConfigurationError) {
        let path = url.path
        let bytes: [UInt8]
        do { bytes = try RegularFile.read(path, limit: Self.maxFileBytes) } catch {
            if case .missing = error { throw .missing(path) }
            throw .unreadable(path, error.reason)
        }
        try self.init(json: bytes, path: path)
    }

    /// Checks and decodes the bytes of a config.json read from `path` (named in every error).
    public init(json bytes: [UInt8], path: String) throws(ModelConfigurationError) {
        let tree: JSONValue
        do { tree = try StrictJSON.parse(bytes) } catch { throw .invalid(path, "not valid JSON: \(error)") }
        guard case .object = tree else { throw .invalid(path, "the file holds \(tree.kindName), not a JSON object") }
        try ConfigurationLimits.check(tree, file: path)
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        do {
            self = try decoder.decode(ModelConfiguration.self, from: Data(bytes))
        } catch let error as DecodingError {
            throw .invalid(path, Self.explain(error))
        } catch {
            throw .invalid(path, "\(error)")
        }
        try validate(path: path)
    }

    private func validate(path: String) throws(ModelConfigurationError) {
        func require(_ condition: Bool, _ problem: @autoclosure () -> String) throws(ModelConfigurationError) {
            if !condition { throw .invalid(path, problem()) }
        }
        if let crc = weightsCrc32 {
            try require(crc.count == 8 && UInt32(crc, radix: 16) != nil,
                        "weights_crc32 \"\(crc)\" is not eight hex digits")
        }
        try require(formatVersion == Self.supportedFormatVersion,
                    "format_version \(formatVersion) is not supported (this program reads \(Self.supportedFormatVersion))")
        let a = architecture
        try require(a.imageSize > 0 && a.patchSize > 0 && a.imageSize % a.patchSize == 0,
                    "image_size \(a.imageSize) is not a multiple of patch_size \(a.patchSize)")
        try require(a.pool > 0 && a.grid % a.pool == 0, "the \(a.grid)×\(a.grid) patch grid does not pool by \(a.pool)")
        try require(a.encHeads > 0 && a.encWidth % a.encHeads == 0, "enc_width \(a.encWidth) does not split into \(a.encHeads) heads")
        try require(a.decHeads > 0 && a.decWidth % a.decHeads == 0, "dec_width \(a.decWidth) does not split into \(a.decHeads) heads")
        try require(a.encDepth > 0 && a.decDepth > 0 && a.decMaxLen > 2 && a.vocabSize > 6, "empty encoder, decoder or vocabulary")
        try require(preprocessing.inputSize == a.imageSize,
                    "preprocessing.input_size \(preprocessing.inputSize) differs from architecture.image_size \(a.imageSize)")
        try require(preprocessing.resize == "area", "resize \"\(preprocessing.resize)\" is not supported (only \"area\")")
        try require(preprocessing.channelOrder == "RGB", "channel_order \"\(preprocessing.channelOrder)\" is not supported (only \"RGB\")")
        try require(preprocessing.mean.count == 3 && preprocessing.std.count == 3 && preprocessing.std.allSatisfy { $0 > 0 },
                    "preprocessing needs three means and three positive stds")
        for (name, size) in Self.expectedHeadSizes(self) {
            guard let head = heads[name] else { throw .invalid(path, "head \"\(name)\" is missing") }
            try require(head.size == size, "head \"\(name)\" has \(head.size) outputs, expected \(size)")
        }
        try ConfigurationLimits.checkLabels(self, file: path)
        try ConfigurationLimits.checkMemory(self, file: path)
        try require(lightStates.contains("green") && lightStates.contains("red"), "light_states lacks red or green")
        try require(thresholds.green > 0 && thresholds.green < 1, "thresholds.green must lie between 0 and 1")
        try signalExpert?.validate(path: path)
        try obstacleExpert?.validate(path: path, sceneKinds: obstacleKinds)
        try fusion?.validate(path: path, self)
    }

    /// Tokens the caption decoder attends to: the scene's visual tokens, then the experts' when
    /// the model fuses them.
    public var decoderMemoryTokens: Int { architecture.visualTokens + (fusion?.tokens ?? 0) }

    static func expectedHeadSizes(_ c: ModelConfiguration) -> [(String, Int)] {
        [
            ("light_state", c.lightStates.count), ("light_kind", c.lightKinds.count),
            ("light_position", c.positions.count), ("crosswalk", 2), ("crosswalk_offset", c.positions.count),
            ("crosswalk_heading", 1), ("obstacles", c.positions.count * c.obstacleKinds.count),
            ("obstacle_distance", c.positions.count * c.distances.count),
        ]
    }

    /// Head names in the order their outputs are laid out in `PerceptionOutput`.
    public var headOrder: [String] { Self.expectedHeadSizes(self).map(\.0) }

    private static func explain(_ error: DecodingError) -> String {
        func key(_ path: [any CodingKey]) -> String { path.map(\.stringValue).joined(separator: ".") }
        switch error {
        case .keyNotFound(let missing, let context): return "missing key \(key(context.codingPath + [missing]))"
        case .typeMismatch(_, let context): return "wrong type at \(key(context.codingPath)): \(context.debugDescription)"
        case .valueNotFound(_, let context): return "missing value at \(key(context.codingPath))"
        case .dataCorrupted(let context) where context.codingPath.isEmpty: return "not valid JSON: \(context.debugDescription)"
        case .dataCorrupted(let context): return "wrong value at \(key(context.codingPath)): \(context.debugDescription)"
        @unknown default: return "\(error)"
        }
    }
}

public enum ModelConfigurationError: Error, Equatable, CustomStringConvertible {
    case missing(String)
    case unreadable(String, String)
    case invalid(String, String)

    public var description: String {
        switch self {
        case .missing(let path): "\(path): no such file (is this a model folder?)"
        case .unreadable(let path, let reason): "\(path): cannot read it: \(reason)"
        case .invalid(let path, let problem): "\(path): \(problem)"
        }
    }
}
