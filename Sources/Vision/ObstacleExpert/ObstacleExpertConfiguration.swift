/// config.json's `obstacle_expert`: the trunk's shape, the slot layout it was trained with, the
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
        /// Features each grid token is projected to before the slots read the whole grid.
        public var tokenFeatures: Int
        /// "vit" or absent: a ViT (the fields below). "mobilenet_v2": the first `trunkBlocks`
        /// feature layers of MobileNetV2 (`MobileNetTrunk`), which needs none of them.
        public var trunk: String?
        public var trunkBlocks: Int?
        /// The ViT's shape; each is required for a ViT trunk (`validate`).
        public var patchSize: Int?
        public var width: Int?
        public var depth: Int?
        public var heads: Int?
        public var mlpRatio: Double?
        public var lnEps: Float?
        /// "conv": the patch tokens come from a `ConvolutionalStem` (one 3×3 stride-2 convolution
        /// per halving, `stemChannels` between); "patch" or absent: the plain stride-P embedding.
        public var stem: String?
        public var stemChannels: [Int]?

        /// The MobileNetV2 trunk's feature layers; nil for the ViT.
        public var mobileNetLayers: Int? { trunk == "mobilenet_v2" ? (trunkBlocks ?? 14) : nil }

        /// Side of the token grid the head reads.
        public var gridSide: Int {
            mobileNetLayers.map { imageSize / MobileNetTrunk.stride(layers: $0) } ?? imageSize / max(patchSize ?? 1, 1)
        }
        public var gridCells: Int { gridSide * gridSide }
        /// Features of each token before the head's projection.
        public var tokenWidth: Int { mobileNetLayers.map { MobileNetTrunk.channels(layers: $0) } ?? width ?? 0 }

        /// The stem's channels from the image's 3 to the encoder's width; nil for a patch embedding.
        public var convolutionChannels: [Int]? {
            stem == "conv" ? [3] + (stemChannels ?? []) + [width ?? 0] : nil
        }

        /// The ViT's geometry (a validated ViT architecture has every field it reads).
        public var geometry: EncoderGeometry {
            let width = width ?? 0
            return EncoderGeometry(
                imageSize: imageSize, patchSize: patchSize ?? 1, width: width, depth: depth ?? 0, heads: heads ?? 1,
                mlpWidth: Int(Double(width) * (mlpRatio ?? 0)), useCls: true, lnEps: lnEps ?? 1e-5)
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
        try require((16...1024).contains(a.imageSize), "image_size \(a.imageSize) outside 16…1024")
        try require((1...256).contains(a.tokenFeatures), "token_features \(a.tokenFeatures) outside 1…256")
        switch a.trunk ?? "vit" {
        case "vit":
            try validateViT(require)
        case "mobilenet_v2":
            let layers = a.trunkBlocks ?? 14
            try require(MobileNetTrunk.layerRange.contains(layers),
                        "trunk_blocks \(layers) outside \(MobileNetTrunk.layerRange.lowerBound)…\(MobileNetTrunk.layerRange.upperBound)")
            let stride = MobileNetTrunk.stride(layers: layers)
            // 512 px keeps a stream's activations under about 80 MB (the expansions at the stem's
            // resolution dominate: 2 × (S/2)² × 96 floats).
            try require(a.imageSize <= 512, "image_size \(a.imageSize) is more than 512 for a MobileNetV2 trunk")
            try require(a.imageSize % stride == 0, "image_size \(a.imageSize) is not a multiple of the trunk's stride \(stride)")
            try require(a.gridSide <= 64, "a \(a.gridSide)-cell grid side is more than 64")
        default:
            try require(false, "trunk \"\(a.trunk ?? "")\" is neither \"vit\" nor \"mobilenet_v2\"")
        }
        try require(positions == Self.knownPositions, "positions \(positions) differ from this program's slot order \(Self.knownPositions)")
        try require(distances == Self.knownDistances, "distances \(distances) differ from this program's slot order \(Self.knownDistances)")
        try require(kinds == sceneKinds, "kinds \(kinds) differ from the model's obstacle_kinds \(sceneKinds)")
        try require(!weightsPrefix.isEmpty, "weights_prefix is empty")
        try require(temperature.isFinite && temperature >= 0.05 && temperature <= 20, "temperature \(temperature) outside 0.05…20")
        try require(threshold.isFinite && threshold >= 0.05 && threshold < 1, "threshold \(threshold) outside 0.05…1")
    }

    /// The ViT trunk's fields.
    private func validateViT(
        _ require: (Bool, @autoclosure () -> String) throws(ModelConfigurationError) -> Void
    ) throws(ModelConfigurationError) {
        let a = architecture
        guard let patchSize = a.patchSize, let width = a.width, let depth = a.depth, let heads = a.heads,
            let mlpRatio = a.mlpRatio, let lnEps = a.lnEps
        else {
            return try require(false, "a ViT trunk needs patch_size, width, depth, heads, mlp_ratio and ln_eps")
        }
        try require((2...64).contains(patchSize) && a.imageSize % patchSize == 0,
                    "image_size \(a.imageSize) is not a multiple of patch_size \(patchSize) within 16…1024")
        try require((a.imageSize / patchSize) <= 64, "a \(a.imageSize / patchSize)-patch grid side is more than 64")
        try require((1...1024).contains(width) && (1...64).contains(depth) && (1...width).contains(heads)
                    && width % heads == 0, "width \(width), depth \(depth) or heads \(heads) out of range")
        try require(mlpRatio.isFinite && mlpRatio >= 0.25 && mlpRatio <= 16, "mlp_ratio \(mlpRatio) outside 0.25…16")
        try require(lnEps.isFinite && lnEps > 0 && lnEps < 0.1, "ln_eps \(lnEps) outside (0, 0.1)")
        switch a.stem ?? "patch" {
        case "patch":
            break
        case "conv":
            let halvings = patchSize.trailingZeroBitCount
            try require(patchSize.nonzeroBitCount == 1 && (a.stemChannels ?? []).count == halvings - 1,
                        "a conv stem for \(patchSize)-pixel patches needs \(halvings - 1) stem_channels, not \(a.stemChannels ?? [])")
            try require((a.stemChannels ?? []).allSatisfy { (1...1024).contains($0) }, "stem_channels \(a.stemChannels ?? []) outside 1…1024")
        default:
            try require(false, "stem \"\(a.stem ?? "")\" is neither \"conv\" nor \"patch\"")
        }
    }
}
