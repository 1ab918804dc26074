import Imaging

/// config.json's `signal_expert`: the crop reader's shape, its classes, the lamp-proposal
/// constants it was trained with, the calibrated temperature and the decision thresholds.
/// Written by training/lttw/artifact.py (`merge-signal`).
public struct SignalExpertConfiguration: Sendable, Decodable, Hashable {
    /// The classes the code knows, in the order the head's outputs are laid out. A model with
    /// other classes, or these in another order, is refused: a swapped red and green would turn
    /// red into walk (DESIGN.md safety rule 6).
    public static let knownClasses = ["not_signal", "ped_red", "ped_green", "veh_red", "veh_yellow", "veh_green"]

    public var architecture: Architecture
    public var classes: [String]
    public var weightsPrefix: String
    public var proposals: Proposals
    public var temperature: Double
    public var thresholds: Thresholds
    /// The views the decided green candidate is read through again before walk is said
    /// (lamps.CONFIRMATION_VIEWS); absent or empty in models calibrated without them.
    public var greenConfirmation: [String]?

    /// The second reader a green must also convince (lttw.green_verifier); absent in models
    /// without one, whose reader alone decides green.
    public var greenVerifier: GreenVerifier?

    /// The reader of the seconds a countdown beside the announced lamp shows (lttw.countdown);
    /// absent in models without one, which never say the seconds.
    public var countdownReader: CountdownReader?

    /// Whether a green must also hold in every confirmation view (thresholds.green was then
    /// calibrated on the smallest green mass over the views).
    public var confirmsGreen: Bool { !(greenConfirmation ?? []).isEmpty }

    /// config.json's `signal_expert.green_verifier`: a crop reader at a higher resolution that
    /// reads the candidate about to be announced green, through its own square and every
    /// confirmation view; walk needs its smallest green ≥ `thresholds.verify`.
    public struct GreenVerifier: Sendable, Decodable, Hashable {
        /// Its classes, in the order of its outputs.
        public static let knownClasses = ["not_green", "green"]

        /// The network `architecture` describes: a patch reader (the reader's fields), or
        /// MobileNetV2 layers (`trunk: "mobilenet_v2"`).
        public enum Network: Sendable, Hashable {
            case patchReader(Architecture)
            case mobileNet(MobileNetArchitecture)
        }

        public var network: Network
        public var classes: [String]
        public var weightsPrefix: String
        public var temperature: Double

        private enum CodingKeys: String, CodingKey { case architecture, classes, weightsPrefix, temperature }
        private struct TrunkName: Decodable { var trunk: String? }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            network = try c.decode(TrunkName.self, forKey: .architecture).trunk == nil
                ? .patchReader(try c.decode(Architecture.self, forKey: .architecture))
                : .mobileNet(try c.decode(MobileNetArchitecture.self, forKey: .architecture))
            classes = try c.decode([String].self, forKey: .classes)
            weightsPrefix = try c.decode(String.self, forKey: .weightsPrefix)
            temperature = try c.decode(Double.self, forKey: .temperature)
        }

        func validate(_ require: (Bool, @autoclosure () -> String) throws(ModelConfigurationError) -> Void) throws(ModelConfigurationError) {
            switch network {
            case .patchReader(let a):
                try a.validate(require)
                try require(a.stem == nil, "a stem: this program reads the verifier's crops through the plain patch embedding")
                try require(a.wideSize == nil && a.wideContext == nil,
                            "a wide view beside each crop (wide_size, wide_context): this program reads the crop alone")
            case .mobileNet(let a):
                try a.validate(require)
            }
        }
    }

    /// A crop classifier on MobileNetV2's first `trunkBlocks` feature layers
    /// (lttw.green_verifier.MobileNetVerifierConfig): each grid cell projected to `tokenFeatures`,
    /// the grid flattened beside the geometry, one hidden layer.
    public struct MobileNetArchitecture: Sendable, Decodable, Hashable {
        public var cropSize: Int
        public var trunk: String
        public var trunkBlocks: Int
        public var tokenFeatures: Int
        public var headHidden: Int

        /// Side of the trunk's output grid.
        public var gridSide: Int { cropSize / MobileNetTrunk.stride(layers: trunkBlocks) }
        public var gridCells: Int { gridSide * gridSide }

        func validate(_ require: (Bool, @autoclosure () -> String) throws(ModelConfigurationError) -> Void) throws(ModelConfigurationError) {
            try require(trunk == "mobilenet_v2", "trunk \"\(trunk)\" is not mobilenet_v2")
            try require(MobileNetTrunk.layerRange.contains(trunkBlocks),
                        "trunk_blocks \(trunkBlocks) outside \(MobileNetTrunk.layerRange.lowerBound)…\(MobileNetTrunk.layerRange.upperBound)")
            // The verifier's crop sets are sampled at 64 px (lttw.green_verifier.CROP_SIZE), which
            // every stride of 2…18 layers (at most 32) divides.
            try require(cropSize == 64, "crop_size \(cropSize) is not the verifier's 64")
            try require((1...256).contains(tokenFeatures), "token_features \(tokenFeatures) outside 1…256")
            try require((1...4096).contains(headHidden), "head_hidden \(headHidden) outside 1…4096")
        }
    }

    /// config.json's `signal_expert.countdown_reader`: a crop reader of the square `context` times
    /// the announced lamp's size around it, whose outputs are two groups, each its own softmax: the
    /// tens ("none": no countdown it can read; "blank": one digit; 1…5) and the ones (0…9).
    public struct CountdownReader: Sendable, Decodable, Hashable {
        /// Its classes, in the order of its outputs: the tens group, then the ones group.
        public static let knownClasses = ["none", "blank", "1", "2", "3", "4", "5"] + (0...9).map(String.init)
        /// The sizes of the two groups.
        public static let knownGroups = [7, 10]

        public var architecture: Architecture
        public var classes: [String]
        public var groups: [Int]
        public var weightsPrefix: String
        /// The square's side in lamp sizes (lamps.Candidate.side).
        public var context: Int
        public var temperature: Double
        /// A number is said only when its probability reaches this (calibrated: no wrong number on
        /// the validation squares).
        public var threshold: Double

        /// The countdown reader's encoder.
        public var geometry: EncoderGeometry { architecture.geometry }

        /// The lowest threshold accepted (lttw.countdown.threshold_for's floor).
        public static let lowestThreshold = 0.5

        func validate(
            _ require: (Bool, @autoclosure () -> String) throws(ModelConfigurationError) -> Void, readerPrefix: String, verifierPrefix: String?
        ) throws(ModelConfigurationError) {
            try require(classes == Self.knownClasses && groups == Self.knownGroups,
                        "classes \(classes) in groups \(groups) differ from the tens (none, blank, 1…5) then the ones (0…9)")
            try architecture.validate(require)
            try require((2...16).contains(context), "context \(context) outside 2…16")
            try require(temperature.isFinite && temperature >= 0.05 && temperature <= 20, "temperature \(temperature) outside 0.05…20")
            try require(threshold.isFinite && threshold >= Self.lowestThreshold && threshold < 1,
                        "threshold \(threshold) below the calibrated floor \(Self.lowestThreshold) or not below 1")
            try require(!weightsPrefix.isEmpty && weightsPrefix != readerPrefix && weightsPrefix != verifierPrefix,
                        "weights_prefix \"\(weightsPrefix)\" is empty, the reader's or the verifier's")
        }
    }

    public struct Architecture: Sendable, Decodable, Hashable {
        public var cropSize: Int
        public var patchSize: Int
        public var width: Int
        public var depth: Int
        public var heads: Int
        public var mlpRatio: Double
        public var lnEps: Float
        /// Width of the head's hidden layer.
        public var headHidden: Int
        /// "conv": the patch tokens come from a `ConvolutionalStem` with `stemChannelsBetween`
        /// between the image's 3 and `width` (the countdown reader); absent: the plain patch
        /// embedding.
        public var stem: String?
        var stemChannels: [Int]?
        /// A wide view beside each crop (lttw.signal_model.SignalConfig.wide_size, wide_context):
        /// measured in training, not read by this program, so a reader with one is refused.
        var wideSize: Int?
        var wideContext: Int?

        /// The stem's channels between the image's and the encoder's, when it has a stem.
        public var stemChannelsBetween: [Int]? { stem == "conv" ? (stemChannels ?? []) : nil }

        /// The crop reader's encoder.
        public var geometry: EncoderGeometry {
            EncoderGeometry(
                imageSize: cropSize, patchSize: patchSize, width: width, depth: depth, heads: heads,
                mlpWidth: Int(Double(width) * mlpRatio), useCls: true, lnEps: lnEps)
        }

        func validate(_ require: (Bool, @autoclosure () -> String) throws(ModelConfigurationError) -> Void) throws(ModelConfigurationError) {
            try require((4...256).contains(cropSize) && (1...cropSize).contains(patchSize) && cropSize % patchSize == 0,
                        "crop_size \(cropSize) is not a multiple of patch_size \(patchSize) within 4…256")
            try require((1...1024).contains(width) && (1...64).contains(depth) && (1...width).contains(heads)
                        && width % heads == 0, "width \(width), depth \(depth) or heads \(heads) out of range")
            try require(mlpRatio.isFinite && mlpRatio >= 0.25 && mlpRatio <= 16, "mlp_ratio \(mlpRatio) outside 0.25…16")
            try require(lnEps.isFinite && lnEps > 0 && lnEps < 0.1, "ln_eps \(lnEps) outside (0, 0.1)")
            try require((1...4096).contains(headHidden), "head_hidden \(headHidden) outside 1…4096")
            switch stem {
            case nil:
                try require(stemChannels == nil, "stem_channels without a stem")
            case "conv":
                let between = stemChannels ?? []
                try require(1 << (between.count + 1) == patchSize && between.allSatisfy { (1...1024).contains($0) },
                            "a conv stem for \(patchSize)-pixel patches needs one 3×3 stride-2 convolution per halving: stem_channels \(between)")
            default:
                try require(false, "stem \"\(stem!)\" is not conv")
            }
        }
    }

    /// The proposal contract's constants (training/lttw/lamps.py); they must equal the ones this
    /// program's `LampProposer` was built with.
    public typealias Proposals = LampProposer.Constants

    /// Doubles, as Python compares them, so the Swift and Python decisions agree exactly.
    public struct Thresholds: Sendable, Decodable, Hashable {
        /// A candidate is a lit signal from this probability of "a signal" up.
        public var signal: Double
        /// Red or yellow needs this much of its mass, else the light is "unknown".
        public var abstain: Double
        /// Green needs this much mass (calibrated on validation frames: no false green there).
        public var green: Double
        /// A red lamp of the same kind anywhere in view with this much mass vetoes green (with green
        /// confirmation: only when it also holds in at least half of its confirmation views).
        public var redVeto: Double
        /// Only a stop lamp whose longer side is at least this fraction of the walk lamp's vetoes
        /// (absent: every size does, as models before it were calibrated).
        public var redVetoSide: Double?
        /// With a green verifier: its smallest green over the candidate's views must reach this
        /// (calibrated with `green`: no false green on the validation frames).
        public var verify: Double?
        /// How many of a green's confirmation reads may fall short of `green` while the green still
        /// holds (absent: none, every view must hold, as models before it were calibrated). One
        /// view shifted onto the pole or the sky should not silence a lamp every other read and
        /// the verifier call green; the verifier itself is never relaxed.
        public var viewMisses: Int?
        /// With a green verifier: a candidate that reads green, leaves the frame unknown and gets
        /// less than this from the verifier (its even odds) is no lamp, and the frame is decided
        /// once more without it (absent: never).
        public var setAside: Double?

        public init(
            signal: Double, abstain: Double, green: Double, redVeto: Double, redVetoSide: Double? = nil, verify: Double? = nil,
            viewMisses: Int? = nil, setAside: Double? = nil
        ) {
            self.signal = signal
            self.abstain = abstain
            self.green = green
            self.redVeto = redVeto
            self.redVetoSide = redVetoSide
            self.verify = verify
            self.viewMisses = viewMisses
            self.setAside = setAside
        }
    }

    /// The crop reader's encoder.
    public var geometry: EncoderGeometry { architecture.geometry }

    /// The lowest green threshold accepted: training calibrates at least this (signal_train.py's
    /// GREEN_FLOOR), so a lower value is an edited or broken file.
    public static let lowestGreenThreshold = 0.9

    /// The lowest verifier threshold accepted (green_verifier_train.py's VERIFY_FLOOR).
    public static let lowestVerifyThreshold = 0.5

    func validate(path: String) throws(ModelConfigurationError) {
        func require(_ condition: Bool, _ problem: @autoclosure () -> String) throws(ModelConfigurationError) {
            if !condition { throw .invalid(path, "signal_expert: " + problem()) }
        }
        try require(classes == Self.knownClasses,
                    "classes \(classes) differ from the ones this program knows, in order: \(Self.knownClasses)")
        try architecture.validate(require)
        try require(architecture.stem == nil, "a stem on the reader: this program reads its crops through the plain patch embedding")
        try require(architecture.wideSize == nil && architecture.wideContext == nil,
                    "a wide view beside each crop (wide_size, wide_context): this program reads the crop alone")
        try require(proposals == LampProposer.constants,
                    "proposal constants \(proposals) differ from this program's lamp proposer (\(LampProposer.constants))")
        try require(temperature.isFinite && temperature >= 0.05 && temperature <= 20, "temperature \(temperature) outside 0.05…20")
        let t = thresholds
        try require(t.green.isFinite && t.green >= Self.lowestGreenThreshold && t.green < 1,
                    "thresholds.green \(t.green) below the calibrated floor \(Self.lowestGreenThreshold) or not below 1")
        for (name, value) in [("signal", t.signal), ("abstain", t.abstain), ("red_veto", t.redVeto)] {
            try require(value.isFinite && value > 0 && value < 1, "thresholds.\(name) \(value) is not between 0 and 1")
        }
        if let side = t.redVetoSide {
            try require(side.isFinite && side >= 0 && side <= 1, "thresholds.red_veto_side \(side) is not between 0 and 1")
        }
        if let misses = t.viewMisses {
            let most = LampCandidate.confirmationViews.count / 2
            try require(misses >= 0 && misses <= most, "thresholds.view_misses \(misses) is not between 0 and \(most) (half the views)")
            try require(misses == 0 || confirmsGreen, "thresholds.view_misses \(misses) needs the green confirmation views it relaxes")
        }
        try require(!weightsPrefix.isEmpty, "weights_prefix is empty")
        switch (greenVerifier, t.verify) {
        case (nil, nil):
            break
        case (nil, .some):
            try require(false, "thresholds.verify is set but there is no green_verifier")
        case (.some, nil):
            try require(false, "green_verifier without thresholds.verify: its threshold was not calibrated")
        case let (verifier?, verify?):
            func requireVerifier(_ condition: Bool, _ problem: @autoclosure () -> String) throws(ModelConfigurationError) {
                try require(condition, "green_verifier: " + problem())
            }
            try requireVerifier(verifier.classes == GreenVerifier.knownClasses,
                                "classes \(verifier.classes) differ from the ones this program knows, in order: \(GreenVerifier.knownClasses)")
            try verifier.validate(requireVerifier)
            try requireVerifier(verifier.temperature.isFinite && verifier.temperature >= 0.05 && verifier.temperature <= 20,
                                "temperature \(verifier.temperature) outside 0.05…20")
            try requireVerifier(!verifier.weightsPrefix.isEmpty && verifier.weightsPrefix != weightsPrefix,
                                "weights_prefix \"\(verifier.weightsPrefix)\" is empty or the reader's")
            try requireVerifier(confirmsGreen, "a verifier needs the green confirmation views it reads")
            try require(verify.isFinite && verify >= Self.lowestVerifyThreshold && verify < 1,
                        "thresholds.verify \(verify) below the calibrated floor \(Self.lowestVerifyThreshold) or not below 1")
        }
        if let countdown = countdownReader {
            try countdown.validate({ (ok, problem) throws(ModelConfigurationError) in try require(ok, "countdown_reader: " + problem()) },
                                   readerPrefix: weightsPrefix, verifierPrefix: greenVerifier?.weightsPrefix)
        }
        if let setAside = t.setAside {
            // Above thresholds.verify it would set aside a lamp the verifier accepts.
            try require(greenVerifier != nil, "thresholds.set_aside is set but there is no green_verifier")
            try require(setAside.isFinite && setAside > 0 && setAside <= (t.verify ?? 0),
                        "thresholds.set_aside \(setAside) is not above 0 and at most thresholds.verify")
        }
        if let views = greenConfirmation, !views.isEmpty {
            try require(views == LampCandidate.confirmationViews,
                        "green_confirmation \(views) differs from the views this program reads (\(LampCandidate.confirmationViews)): "
                            + "its green threshold was calibrated on other crops")
        }
    }
}
