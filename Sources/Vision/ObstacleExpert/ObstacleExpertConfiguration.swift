/// config.json's `obstacle_expert`: the encoder's shape, the slot layout it was trained with, the
/// calibrated temperature and the threshold. Written by training/lttw/artifact.py
/// (`merge-obstacle`).
public struct ObstacleExpertConfiguration: Sendable, Decodable, Hashable {
    /// The slots' order: position-major, each position's distances in turn (obstacle_expert.py's
    /// `slot_of`). A model laid out otherwise is refused: a car read as "left" when it is ahead
    /// would steer the wearer into it.
    public static let knownPositions = ["left", "ahead", "right"]
    public static let knownDistances = ["near", "mid", "far"]

    public var architecture: Architecture
    /// The obstacle kinds, in the order of each slot's outputs after "empty".
    public var kinds: [String]
    public var positions: [String]
    public var distances: [String]
    public var weightsPrefix: String
    public var temperature: Double
    /// A slot is an obstacle when its most likely kind has at least this probability.
    public var threshold: Double

    public struct Architecture: Sendable, Decodable, Hashable {
        public var imageSize: Int
        public var patchSize: Int
        public var width: Int
        public var depth: Int
        public var heads: Int
        public var mlpRatio: Double
        public var lnEps: Float
        /// Features each patch token is projected to before the slots read the whole grid.
        public var tokenFeatures: Int
        /// "conv": the patch tokens come from a `ConvolutionalStem` (one 3×3 stride-2 convolution
        /// per halving, `stemChannels` between); "patch" or absent: the plain stride-P embedding.
        public var stem: String?
        public var stemChannels: [Int]?
        /// "vit" or absent: the encoder above. The training code's other trunks ("mobilenet_v2")
        /// are measured in Python only, and refused here by name rather than at a missing tensor.
        public var trunk: String?

        /// The stem's channels from the image's 3 to the encoder's width; nil for a patch embedding.
        public var convolutionChannels: [Int]? {
            stem == "conv" ? [3] + (stemChannels ?? []) + [width] : nil
        }

        public var geometry: EncoderGeometry {
            EncoderGeometry(
                imageSize: imageSize, patchSize: patchSize, width: width, depth: depth, heads: heads,
                mlpWidth: Int(Double(width) * mlpRatio), useCls: true, lnEps: lnEps)
        }
    }

    /// Slots: one per position and distance.
    public var slotCount: Int { positions.count * distances.count }
    /// Outputs per slot: "empty", then the kinds.
    public var classCount: Int { 1 + kinds.count }

    func validate(path: String, sceneKinds: [String]) throws(ModelConfigurationError) {
        func require(_ condition: Bool, _ problem: @autoclosure () -> String) throws(ModelConfigurationError) {
            if !condition { throw .invalid(path, "obstacle_expert: " + problem()) }
        }
        let a = architecture
        try require((a.trunk ?? "vit") == "vit",
                    "trunk \"\(a.trunk ?? "")\" runs in the Python training code only; this program runs the \"vit\" trunk")
        try require((16...1024).contains(a.imageSize) && (2...64).contains(a.patchSize) && a.imageSize % a.patchSize == 0,
                    "image_size \(a.imageSize) is not a multiple of patch_size \(a.patchSize) within 16…1024")
        try require((a.imageSize / a.patchSize) <= 64, "a \(a.imageSize / a.patchSize)-patch grid side is more than 64")
        try require((1...1024).contains(a.width) && (1...64).contains(a.depth) && (1...a.width).contains(a.heads)
                    && a.width % a.heads == 0, "width \(a.width), depth \(a.depth) or heads \(a.heads) out of range")
        try require(a.mlpRatio.isFinite && a.mlpRatio >= 0.25 && a.mlpRatio <= 16, "mlp_ratio \(a.mlpRatio) outside 0.25…16")
        try require(a.lnEps.isFinite && a.lnEps > 0 && a.lnEps < 0.1, "ln_eps \(a.lnEps) outside (0, 0.1)")
        try require((1...256).contains(a.tokenFeatures), "token_features \(a.tokenFeatures) outside 1…256")
        switch a.stem ?? "patch" {
        case "patch":
            break
        case "conv":
            let halvings = a.patchSize.trailingZeroBitCount
            try require(a.patchSize.nonzeroBitCount == 1 && (a.stemChannels ?? []).count == halvings - 1,
                        "a conv stem for \(a.patchSize)-pixel patches needs \(halvings - 1) stem_channels, not \(a.stemChannels ?? [])")
            try require((a.stemChannels ?? []).allSatisfy { (1...1024).contains($0) }, "stem_channels \(a.stemChannels ?? []) outside 1…1024")
        default:
            try require(false, "stem \"\(a.stem ?? "")\" is neither \"conv\" nor \"patch\"")
        }
        try require(positions == Self.knownPositions, "positions \(positions) differ from this program's slot order \(Self.knownPositions)")
        try require(distances == Self.knownDistances, "distances \(distances) differ from this program's slot order \(Self.knownDistances)")
        try require(kinds == sceneKinds, "kinds \(kinds) differ from the model's obstacle_kinds \(sceneKinds)")
        try require(!weightsPrefix.isEmpty, "weights_prefix is empty")
        try require(temperature.isFinite && temperature >= 0.05 && temperature <= 20, "temperature \(temperature) outside 0.05…20")
        try require(threshold.isFinite && threshold >= 0.05 && threshold < 1, "threshold \(threshold) outside 0.05…1")
    }
}
