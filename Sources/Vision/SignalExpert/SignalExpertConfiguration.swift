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

    /// Whether a green must also hold in every confirmation view (thresholds.green was then
    /// calibrated on the smallest green mass over the views).
    public var confirmsGreen: Bool { !(greenConfirmation ?? []).isEmpty }

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

        public init(signal: Double, abstain: Double, green: Double, redVeto: Double) {
            self.signal = signal
            self.abstain = abstain
            self.green = green
            self.redVeto = redVeto
        }
    }

    /// The crop reader's encoder.
    public var geometry: EncoderGeometry {
        let a = architecture
        return EncoderGeometry(
            imageSize: a.cropSize, patchSize: a.patchSize, width: a.width, depth: a.depth, heads: a.heads,
            mlpWidth: Int(Double(a.width) * a.mlpRatio), useCls: true, lnEps: a.lnEps)
    }

    /// The lowest green threshold accepted: training calibrates at least this (signal_train.py's
    /// GREEN_FLOOR), so a lower value is an edited or broken file.
    public static let lowestGreenThreshold = 0.9

    func validate(path: String) throws(ModelConfigurationError) {
        func require(_ condition: Bool, _ problem: @autoclosure () -> String) throws(ModelConfigurationError) {
            if !condition { throw .invalid(path, "signal_expert: " + problem()) }
        }
        try require(classes == Self.knownClasses,
                    "classes \(classes) differ from the ones this program knows, in order: \(Self.knownClasses)")
        let a = architecture
        try require((4...256).contains(a.cropSize) && (1...a.cropSize).contains(a.patchSize) && a.cropSize % a.patchSize == 0,
                    "crop_size \(a.cropSize) is not a multiple of patch_size \(a.patchSize) within 4…256")
        try require((1...1024).contains(a.width) && (1...64).contains(a.depth) && (1...a.width).contains(a.heads)
                    && a.width % a.heads == 0, "width \(a.width), depth \(a.depth) or heads \(a.heads) out of range")
        try require(a.mlpRatio.isFinite && a.mlpRatio >= 0.25 && a.mlpRatio <= 16, "mlp_ratio \(a.mlpRatio) outside 0.25…16")
        try require(a.lnEps.isFinite && a.lnEps > 0 && a.lnEps < 0.1, "ln_eps \(a.lnEps) outside (0, 0.1)")
        try require((1...4096).contains(a.headHidden), "head_hidden \(a.headHidden) outside 1…4096")
        try require(proposals == LampProposer.constants,
                    "proposal constants \(proposals) differ from this program's lamp proposer (\(LampProposer.constants))")
        try require(temperature.isFinite && temperature >= 0.05 && temperature <= 20, "temperature \(temperature) outside 0.05…20")
        let t = thresholds
        try require(t.green.isFinite && t.green >= Self.lowestGreenThreshold && t.green < 1,
                    "thresholds.green \(t.green) below the calibrated floor \(Self.lowestGreenThreshold) or not below 1")
        for (name, value) in [("signal", t.signal), ("abstain", t.abstain), ("red_veto", t.redVeto)] {
            try require(value.isFinite && value > 0 && value < 1, "thresholds.\(name) \(value) is not between 0 and 1")
        }
        try require(!weightsPrefix.isEmpty, "weights_prefix is empty")
        if let views = greenConfirmation, !views.isEmpty {
            try require(views == LampCandidate.confirmationViews,
                        "green_confirmation \(views) differs from the views this program reads (\(LampCandidate.confirmationViews)): "
                            + "its green threshold was calibrated on other crops")
        }
    }
}
