/// config.json's `fusion`: how many tokens the signal and obstacle experts and the scene heads'
/// crossing add to the scene tokens the caption decoder attends to (MouSi's poly-expert fusion). Written by
/// training/lttw/artifact.py (`merge-fusion`); the computation is `ExpertFusion` (module Fusion).
public struct ExpertFusionConfiguration: Sendable, Decodable, Hashable {
    public var architecture: Architecture
    public var weightsPrefix: String

    public struct Architecture: Sendable, Decodable, Hashable {
        public var decWidth: Int
        /// Signal candidates fused, the most likely signal first.
        public var signalTokens: Int
        /// A candidate's row: its embedding, geometry and calibrated class probabilities.
        public var signalFeatures: Int
        /// The crossing token's input: p(crosswalk), its side's probabilities, then the decided
        /// facts: present, and the side's one-hot.
        public var crossingFeatures: Int
        public var obstacleSlots: Int
        /// A slot's classes: "empty", then the kinds. Its token reads their calibrated
        /// probabilities, then the one-hot of the obstacle decided there.
        public var obstacleClasses: Int
    }

    /// Tokens the experts add after the scene's.
    public var tokens: Int { architecture.signalTokens + 1 + architecture.obstacleSlots }

    /// Checks the fusion against the model it is part of: it reads both experts' outputs, so their
    /// shapes must be the ones it was trained on.
    func validate(path: String, _ c: ModelConfiguration) throws(ModelConfigurationError) {
        func require(_ condition: Bool, _ problem: @autoclosure () -> String) throws(ModelConfigurationError) {
            if !condition { throw .invalid(path, "fusion: " + problem()) }
        }
        let a = architecture
        try require(a.decWidth == c.architecture.decWidth, "dec_width \(a.decWidth) differs from the decoder's \(c.architecture.decWidth)")
        guard let signal = c.signalExpert, let obstacles = c.obstacleExpert else {
            throw .invalid(path, "fusion: it reads the signal and the obstacle experts, and the model lacks one of them")
        }
        try require((1...SignalExpert.maxCandidates).contains(a.signalTokens),
                    "signal_tokens \(a.signalTokens) outside 1…\(SignalExpert.maxCandidates) (the most candidates a frame has)")
        let row = 2 * signal.architecture.width + CropReader.geometryCount + signal.classes.count
        try require(a.signalFeatures == row, "signal_features \(a.signalFeatures) differ from the signal reader's row of \(row) (embedding, geometry, classes)")
        try require(a.crossingFeatures == 2 * (1 + c.positions.count),
                    "crossing_features \(a.crossingFeatures) differ from p(crosswalk), its \(c.positions.count) sides, present and the side decided")
        try require(a.obstacleSlots == obstacles.slotCount && a.obstacleClasses == obstacles.classCount,
                    "\(a.obstacleSlots) obstacle slots of \(a.obstacleClasses) classes differ from the obstacle expert's \(obstacles.slotCount) of \(obstacles.classCount)")
        try require(!weightsPrefix.isEmpty, "weights_prefix is empty")
    }
}
