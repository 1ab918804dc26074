import Foundation
import Fusion
import Imaging
import Kernels
import Narrator
import Vision

/// A loaded model folder: configuration, tokenizer and weights, immutable and shared by every
/// stream (a camera, a file being described). Per-stream memory lives in `StreetModel.Stream`.
public final class StreetModel: Sendable {
    public let folder: URL
    public let configuration: ModelConfiguration
    public let tokenizer: Tokenizer
    public let encoder: PatchEncoder
    public let heads: PerceptionHeads
    public let projector: Projector
    public let decoder: CaptionDecoder
    /// Reads the light near full resolution; nil for models without one (the scene heads then
    /// give the light).
    public let signalExpert: SignalExpert?
    /// Says what stands where, from the whole frame at its own resolution; nil for models without
    /// one (the scene heads then give the obstacles).
    public let obstacleExpert: ObstacleExpert?
    /// Joins both experts' reads to the scene tokens for the decoder; nil for models without it
    /// (the decoder then attends to the scene tokens alone).
    public let fusion: ExpertFusion?
    /// Every sentence a caption may say, by the fact it states (`CaptionConstraint` holds each
    /// caption to its frame's).
    public let captionGrammar: CaptionGrammar
    /// Where each head is in `PerceptionHeads.State.probabilities`, by name.
    let headIndex: [String: Int]
    /// Where the crossing's heads are in `PerceptionHeads.State.probabilities` (the fusion reads them).
    let crosswalkHead: Int
    let crosswalkSideHead: Int
    /// Keeps the memory-mapped weights alive as long as the layers point into them.
    private let weightsOwner: any Sendable

    /// Builds the model from already-read parts; `weights` must stay valid while the model lives
    /// and is kept alive through `owner`.
    public init(
        folder: URL, configuration: ModelConfiguration, tokenizer: Tokenizer, weights: some WeightSource,
        owner: any Sendable
    ) throws {
        let a = configuration.architecture
        guard tokenizer.count == a.vocabSize else {
            throw ModelLoadError.mismatch(
                folder.appendingPathComponent("tokenizer.json").path,
                "\(tokenizer.count) tokens, but config.json says vocab_size \(a.vocabSize)")
        }
        self.folder = folder
        self.configuration = configuration
        self.tokenizer = tokenizer
        encoder = try PatchEncoder(weights, architecture: a)
        heads = try PerceptionHeads(weights, configuration: configuration)
        projector = try Projector(weights, architecture: a)
        decoder = try CaptionDecoder(weights, architecture: a)
        signalExpert = try configuration.signalExpert.map { try SignalExpert(weights, configuration: $0) }
        let p = configuration.preprocessing
        obstacleExpert = try configuration.obstacleExpert.map { try ObstacleExpert(weights, configuration: $0, mean: p.mean, std: p.std) }
        fusion = try configuration.fusion.map { try ExpertFusion(weights, configuration: $0, model: configuration) }
        captionGrammar = CaptionGrammar(
            tokenizer: tokenizer, obstacleKinds: Set(configuration.obstacleKinds + (configuration.obstacleExpert?.kinds ?? [])))
        headIndex = Dictionary(uniqueKeysWithValues: configuration.headOrder.enumerated().map { ($1, $0) })
        crosswalkHead = configuration.headOrder.firstIndex(of: "crosswalk")!
        crosswalkSideHead = configuration.headOrder.firstIndex(of: "crosswalk_offset")!
        weightsOwner = owner
    }

    /// Everything one stream writes, allocated once: run frames through it one after another.
    public final class Stream {
        public let model: StreetModel
        public let input: Tensor
        public let encoder: PatchEncoder.State
        public let heads: PerceptionHeads.State
        public let projector: Projector.State
        /// The decoder's caches and scratch; replaced once by a wider one if a caption asks for
        /// more beams than the stream was made for.
        public private(set) var decoder: CaptionDecoder.State
        /// The signal expert's candidates, crops and results (nil without a signal expert).
        public let signal: SignalExpert.State?
        /// The signal expert's decision for the frame last preprocessed, once `readSignal` or
        /// `readExperts` has read it; nil before, and when that frame could not be read.
        public private(set) var signalDecision: SignalDecision?
        /// The obstacle expert's input, activations and slot probabilities (nil without one).
        public let obstacles: ObstacleExpert.State?
        /// The two experts' shared dispatch (`readExperts`).
        let expertReading = ExpertReading()
        /// Whether `obstacles` holds the frame last preprocessed (`readObstacles` after `preprocess`).
        public private(set) var obstaclesRead = false
        /// The experts' tokens joined to the scene's (nil without fusion).
        public let fusion: ExpertFusion.State?
        /// Whether the encoder and projector hold the frame last preprocessed (`perceive`).
        private var perceived = false
        /// Whether `signal` holds the frame last preprocessed (`readSignal` or `readExperts`).
        private var signalRead = false
        /// Whether the decoder's cross-attention holds the frame last preprocessed
        /// (`prepareCaptionMemory`).
        public private(set) var captionMemoryReady = false
        /// What holds each caption to its facts, refilled per caption.
        public let captionConstraint: CaptionConstraint
        /// Whether the obstacle expert's input is the scene's (the same size, squash and
        /// statistics): `readFrame` then squashes the frame once for both. Fixed by the model.
        let obstacleExpertSharesInput: Bool
        /// The scene's preprocessing, split across the kernel lanes.
        let preprocessor: FramePreprocessor
        var preprocessing: Preprocessing { preprocessor.preprocessing }

        /// A stream whose decoder holds `beamWidth` beams' KV caches from the start, so beam
        /// search up to that width allocates nothing per frame.
        public init(_ model: StreetModel, beamWidth: Int = 1) {
            let c = model.configuration
            self.model = model
            preprocessor = FramePreprocessor(c.imagePreprocessing)
            input = Tensor(shape: [3, c.architecture.imageSize, c.architecture.imageSize])
            encoder = PatchEncoder.State(c.architecture)
            heads = PerceptionHeads.State(c)
            projector = Projector.State(c.architecture)
            decoder = CaptionDecoder.State(c.architecture, beamCapacity: max(1, beamWidth), memoryTokens: c.decoderMemoryTokens)
            signal = model.signalExpert.map { SignalExpert.State($0) }
            obstacles = model.obstacleExpert.map { ObstacleExpert.State($0) }
            fusion = model.fusion.map { ExpertFusion.State($0) }
            captionConstraint = CaptionConstraint(grammar: model.captionGrammar, vocabularySize: c.architecture.vocabSize)
            obstacleExpertSharesInput = model.obstacleExpert?.preprocessing == c.imagePreprocessing
        }

        /// Runs the signal expert on the full frame (before any resize): a far signal is a few
        /// pixels even there. Does nothing for a model without a signal expert.
        public func readSignal(_ image: Image) throws(ImagingError) {
            guard let expert = model.signalExpert, let signal else { return }
            signalRead = false
            expertsChanged()
            // A frame that fails leaves no light standing from the one before (safety rule 2).
            signalDecision = nil
            signalDecision = try expert.read(image, mean: preprocessing.mean, std: preprocessing.std, state: signal)
            signalRead = true
        }

        /// Runs both experts on the frame, as `readSignal` and `readObstacles` do, sharing the
        /// kernel lanes between them (`ExpertReading`): the way a frame is read.
        public func readExperts(_ image: Image) throws(ImagingError) {
            guard let signalExpert = model.signalExpert, let signal, let obstacleExpert = model.obstacleExpert, let obstacles else {
                try readSignal(image)
                try readObstacles(image)
                return
            }
            obstaclesRead = false
            signalRead = false
            expertsChanged()
            signalDecision = nil
            signalDecision = try expertReading.read(
                image, signal: signalExpert, signal, mean: preprocessing.mean, std: preprocessing.std,
                obstacles: obstacleExpert, obstacles)
            obstaclesRead = true
            signalRead = true
        }

        /// Reads a frame the way the product does: `preprocess`, `perceive` and `readExperts`. With
        /// both experts and two kernel lanes, in one dispatch (`ExpertReading` with the scene as
        /// its companion): one lane preprocesses and runs the encoder, heads and projector alone
        /// while the other proposes the lamps and reads the obstacle expert, then both read the
        /// lamp crops. Split over two lanes, each of those passes waits at barriers and splits
        /// matrices too small to share well (measured: NOTES, 2026-12-07 morning); the frame's
        /// facts are those of the three calls up to float rounding in the encoder (one thread sums
        /// a lane's odd last row the way two do not). With other lane counts, the three calls.
        public func readFrame(_ image: Image) throws(ImagingError) {
            guard Parallel.lanes == 2, let signalExpert = model.signalExpert, let signal,
                  let obstacleExpert = model.obstacleExpert, let obstacles else {
                try preprocess(image)
                perceive()
                try readExperts(image)
                return
            }
            beginFrame()
            // The obstacle expert at the scene's input reads the scene's tensor: the same floats.
            let sharedInput = obstacleExpertSharesInput ? UnsafeBufferPointer(input.storage) : nil
            signalDecision = try expertReading.read(
                image, signal: signalExpert, signal, mean: preprocessing.mean, std: preprocessing.std,
                obstacles: obstacleExpert, obstacles, alongside: SceneRead(stream: self, image: image),
                companionInput: sharedInput)
            obstaclesRead = true
            signalRead = true
            perceived = true
            if model.fusion == nil { prepareCaptionMemory() }
        }

        /// `readFrame`'s scene part, on one lane: preprocessing (shared with an obstacle expert of
        /// the same input), encoder, heads and projector.
        private struct SceneRead: FrameCompanion {
            let stream: Stream
            let image: Image

            func run(inputWritten: () -> Void) throws(ImagingError) {
                let s = stream
                try s.preprocessor.writeOnThisThread(image, into: s.input.storage)
                inputWritten()
                s.model.encoder.encodeOnThisThread(UnsafeBufferPointer(s.input.storage), state: s.encoder)
                s.runHeads()
                s.model.projector.project(s.encoder.output.matrix.readOnly, state: s.projector)
            }
        }

        /// Runs the obstacle expert on the frame at its own input size. Does nothing for a model
        /// without one.
        public func readObstacles(_ image: Image) throws(ImagingError) {
            guard let expert = model.obstacleExpert, let obstacles else { return }
            obstaclesRead = false
            expertsChanged()
            try expert.read(image, state: obstacles)
            obstaclesRead = true
        }

        /// Preprocesses `image` exactly as training did, into `input`: in row ranges across the
        /// kernel lanes when the resize allows it.
        public func preprocess(_ image: Image) throws(ImagingError) {
            beginFrame()
            try preprocessor.write(image, into: input.storage)
        }

        /// A new frame: what was read of the last one no longer describes it.
        private func beginFrame() {
            obstaclesRead = false
            signalRead = false
            signalDecision = nil
            perceived = false
            captionMemoryReady = false
        }

        /// Runs the encoder, the heads and the projector on `input`, and prepares the decoder's
        /// cross-attention for this frame (with fusion, `caption` does once the experts have read
        /// it too).
        public func perceive() {
            encode()
            runHeads()
            project()
        }

        /// `perceive`'s steps, one by one for the benchmark's stage timings.
        func encode() { model.encoder.encode(UnsafeBufferPointer(input.storage), state: encoder) }
        func runHeads() { model.heads.run(encoder.output.matrix.readOnly, state: heads) }
        func project() {
            model.projector.project(encoder.output.matrix.readOnly, state: projector)
            perceived = true
            // Without fusion the memory is complete now; with it, the experts come first.
            if model.fusion == nil { prepareCaptionMemory() }
        }

        /// An expert reads again: a memory fused from its last read no longer stands. (The experts
        /// are not checked to have read the same image as each other: `preprocess` starts a frame,
        /// and a frame's reads are of its image.)
        private func expertsChanged() {
            if model.fusion != nil { captionMemoryReady = false }
        }

        /// What the decoder attends to this frame: the projector's tokens, or with fusion the
        /// fused memory.
        public var captionMemory: MatrixRef {
            fusion.map { $0.memory.matrix.readOnly } ?? projector.visualTokens.matrix.readOnly
        }

        /// Prepares the decoder's cross-attention on this frame's memory, once it is complete: after
        /// `perceive`, and for a model that fuses its experts once both have read the frame too (in
        /// either order). `caption` calls it; returns whether the memory is ready. Allocates nothing.
        @discardableResult
        public func prepareCaptionMemory() -> Bool {
            guard perceived else { return false }
            if let fusionModel = model.fusion, let fusion {
                guard signalRead, obstaclesRead, let signal, let obstacles else { return false }
                fusionModel.fuse(
                    visualTokens: projector.visualTokens.matrix.readOnly, signal: signal,
                    crosswalk: UnsafeBufferPointer(heads.probabilities[model.crosswalkHead].storage),
                    crosswalkSide: UnsafeBufferPointer(heads.probabilities[model.crosswalkSideHead].storage),
                    obstacles: obstacles, state: fusion)
            }
            model.decoder.prepare(visualTokens: captionMemory, state: decoder)
            captionMemoryReady = true
            return true
        }

        /// Greedy decoding from <bos> <language>, as training/lttw/model.py's `generate`: the
        /// most likely token each step that `facts` allow (`CaptionConstraint`), until <eos> or
        /// the model's length limit. Calls `stepLogits` with each step's logits (for parity
        /// tests). Needs `perceive()` first (and `readExperts`, or `readSignal` and
        /// `readObstacles`, for a model that fuses its experts; held to the frame's facts, a light
        /// the signal expert has not read this frame is unknown). Allocates nothing when `tokens`
        /// has room for `decMaxLen` tokens.
        public func caption(
            _ language: Language, facts: CaptionFacts = .frame, into tokens: inout [Int32],
            stepLogits: (UnsafeBufferPointer<Float>) -> Void = { _ in }
        ) {
            if !captionMemoryReady { prepareCaptionMemory() }
            precondition(captionMemoryReady, Self.memoryNotReady)
            let decoder = model.decoder
            let tokenizer = model.tokenizer
            let maxLength = model.configuration.architecture.decMaxLen
            let constraint = hold(to: facts, language)
            self.decoder.restartCaption()
            tokens.removeAll(keepingCapacity: true)
            tokenizer.prompt(language).withUnsafeBufferPointer { decoder.feed($0, state: self.decoder) }
            var position = self.decoder.position
            while true {
                let logits = self.decoder.logits(row: 0)
                stepLogits(logits)
                let next: Int32
                if let constraint {
                    let allowed = tokens.withUnsafeBufferPointer { constraint.allowedTokens(after: $0, endID: tokenizer.endID) }
                    next = Int32(Self.argmax(logits, where: allowed))
                } else {
                    next = Int32(Self.argmax(logits))
                }
                tokens.append(next)
                if next == tokenizer.endID || position >= maxLength { break }
                decoder.feed(token: next, state: self.decoder)
                position += 1
            }
            if let constraint {
                let kept = tokens.withUnsafeBufferPointer { constraint.wholeSentenceCount(of: $0, endID: tokenizer.endID) }
                tokens.removeLast(tokens.count - kept)
            }
        }

        /// Beam search from <bos> <language>, as training/lttw/model.py's `beam_search` (see
        /// `BeamSearch` for the rules and the length normalisation); width 1 gives exactly the
        /// greedy tokens. Needs `perceive()` first. Allocates nothing when `beamWidth` is within
        /// the width the stream was made with and `tokens` has room for `decMaxLen` tokens; a
        /// wider beam grows the decoder state once.
        public func caption(
            _ language: Language, beamWidth: Int, lengthPenalty: Double = BeamSearch.defaultLengthPenalty,
            facts: CaptionFacts = .frame, into tokens: inout [Int32]
        ) {
            precondition(beamWidth >= 1, "Stream.caption: beam width \(beamWidth)")
            if !captionMemoryReady { prepareCaptionMemory() }
            precondition(captionMemoryReady, Self.memoryNotReady)
            if beamWidth > decoder.beamCapacity {
                let c = model.configuration
                decoder = CaptionDecoder.State(c.architecture, beamCapacity: beamWidth, memoryTokens: c.decoderMemoryTokens)
                model.decoder.prepare(visualTokens: captionMemory, state: decoder)
            }
            let search = BeamSearch(width: beamWidth, lengthPenalty: lengthPenalty)
            let constraint = hold(to: facts, language)
            model.tokenizer.prompt(language).withUnsafeBufferPointer { prompt in
                model.decoder.beamSearch(
                    prompt: prompt, endID: model.tokenizer.endID, search: search, state: decoder, constraint: constraint, into: &tokens)
            }
        }

        /// The caption as text: greedy with `beamWidth` 1, else beam search.
        public func caption(_ language: Language, beamWidth: Int = 1, facts: CaptionFacts = .frame) -> String {
            var tokens: [Int32] = []
            tokens.reserveCapacity(model.configuration.architecture.decMaxLen)
            if beamWidth > 1 {
                caption(language, beamWidth: beamWidth, facts: facts, into: &tokens)
            } else {
                caption(language, facts: facts, into: &tokens)
            }
            return model.tokenizer.decode(tokens, language: language)
        }

        /// Fills `captionConstraint` with the sentences `facts` allow in `language`; nil for `.free`.
        func hold(to facts: CaptionFacts, _ language: Language) -> CaptionConstraint? {
            let grammar = model.captionGrammar, constraint = captionConstraint
            constraint.removeAll()
            switch facts {
            case .free:
                return nil
            case .given(let facts):
                let light = facts.light ?? SceneFacts.Light(kind: nil, state: .none, confidence: 1, position: nil)
                allowLight(light.state, light.kind, light.position, language)
                if let crosswalk = facts.crosswalk, crosswalk.present, let offset = crosswalk.offset {
                    constraint.allow(grammar.crosswalk(offset, language))
                }
                for o in facts.obstacles {
                    constraint.allow(grammar.obstacle(kind: o.kind, position: o.position, distance: o.distance, language))
                }
            case .frame:
                // The facts `FrameReading(self).facts` gives, read from the stream without building them.
                let c = model.configuration
                if model.signalExpert != nil {
                    // Unread this frame: unknown, as `FrameReading.signalUnread` says.
                    allowLight(signalDecision?.state ?? .unknown, signalDecision?.kind, signalDecision?.position, language)
                } else {
                    let state = FrameReading.lightState(UnsafeBufferPointer(heads.probabilities[lightHead].storage), c)
                    let kind = LightKind(rawValue: c.lightKinds[FrameReading.argmax(UnsafeBufferPointer(heads.probabilities[lightKindHead].storage))])
                    let position = Position(rawValue: c.positions[FrameReading.argmax(UnsafeBufferPointer(heads.probabilities[lightPositionHead].storage))])
                    allowLight(state, kind, position, language)
                }
                if heads.probabilities[model.crosswalkHead].storage[1] >= c.thresholds.crosswalk,
                    let offset = Position(rawValue: c.positions[FrameReading.argmax(UnsafeBufferPointer(heads.probabilities[model.crosswalkSideHead].storage))]) {
                    constraint.allow(grammar.crosswalk(offset, language))
                }
                if let expert = model.obstacleExpert, let obstacles, obstaclesRead {
                    expert.forEachDetection(obstacles) {
                        constraint.allow(grammar.obstacle(kind: $0.kind, position: $0.position, distance: $0.distance, language))
                    }
                } else {
                    FrameReading.forEachObstacle(
                        kinds: UnsafeBufferPointer(heads.probabilities[obstacleHead].storage),
                        distances: UnsafeBufferPointer(heads.probabilities[obstacleDistanceHead].storage), c
                    ) { kind, position, distance, _ in
                        constraint.allow(grammar.obstacle(kind: kind, position: position, distance: distance, language))
                    }
                }
            }
            return constraint
        }

        /// Allows a light's sentences, or "no signal in view" when none is in view.
        private func allowLight(_ state: LightState, _ kind: LightKind?, _ position: Position?, _ language: Language) {
            let grammar = model.captionGrammar
            if state == .none {
                captionConstraint.allow(grammar.noSignal(language))
            } else {
                for id in grammar.light(state, kind: kind, position: position, language) { captionConstraint.allow(id) }
            }
        }

        private var lightHead: Int { model.headIndex["light_state"]! }
        private var lightKindHead: Int { model.headIndex["light_kind"]! }
        private var lightPositionHead: Int { model.headIndex["light_position"]! }
        private var obstacleHead: Int { model.headIndex["obstacles"]! }
        private var obstacleDistanceHead: Int { model.headIndex["obstacle_distance"]! }

        static let memoryNotReady = "Stream.caption: the frame's memory is not ready: preprocess, perceive and, for a model that fuses its experts, readExperts first"

        /// The first index of the largest value, as torch.argmax picks.
        static func argmax(_ values: UnsafeBufferPointer<Float>) -> Int {
            var best = 0
            var bestValue = -Float.infinity
            for i in values.indices where values[i] > bestValue {
                best = i
                bestValue = values[i]
            }
            return best
        }

        /// The first index of the largest value among those `allowed`, as torch.argmax picks
        /// over logits masked with -inf (`allowed` is never all false).
        static func argmax(_ values: UnsafeBufferPointer<Float>, where allowed: UnsafeBufferPointer<Bool>) -> Int {
            var best = -1
            var bestValue = -Float.infinity
            for i in values.indices where allowed[i] && (best < 0 || values[i] > bestValue) {
                best = i
                bestValue = values[i]
            }
            return best
        }
    }
}

/// What a caption is held to while it is decoded (`CaptionConstraint`).
public enum CaptionFacts: Sendable {
    /// The facts the stream read for this frame: what `FrameReading(stream).facts` gives. The
    /// product's captions.
    case frame
    /// These facts: a test's, or a caller's that already holds the facts it will report.
    case given(SceneFacts)
    /// Nothing: the decoder alone, to measure how far it and the facts disagree.
    case free
}

/// A model folder that cannot be used, with the file and the reason.
public enum ModelLoadError: Error, Equatable, CustomStringConvertible {
    case notAFolder(String)
    case missingFile(String)
    case mismatch(String, String)
    case invalid(String, String)
    case selfTestFailed(String, expected: String, seen: String)

    public var description: String {
        switch self {
        case .notAFolder(let path): "\(path): not a model folder (expected config.json, model.safetensors and tokenizer.json)"
        case .missingFile(let path): "\(path): missing from the model folder"
        case .mismatch(let path, let problem): "\(path): \(problem)"
        case .invalid(let path, let problem): "\(path): \(problem)"
        case .selfTestFailed(let path, let expected, let seen):
            "\(path): known-answer frame read as \(seen), not \(expected): the model is damaged or does not match this program, refusing to start"
        }
    }
}
