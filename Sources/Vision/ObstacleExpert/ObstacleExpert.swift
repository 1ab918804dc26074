import Imaging
import Kernels

/// The obstacle expert: what stands in front of the wearer, where and how far, read from the
/// whole frame by a trunk of its own. The scene encoder's 16 px patches at 160 px blur a far
/// bollard into part of one token and its pooled heads forget where things are; this expert sees
/// the frame at its own size (160 px as shipped, the scene model's: `readFrame` then squashes the
/// frame once for both) and keeps every grid token's place:
///
///     frame -> squash to S×S (the scene preprocessing at its own size)
///           -> grid tokens: a ViT (`PatchEncoder`, its patch tokens from a `ConvolutionalStem` or
///              the plain patch embedding), or the first layers of an ImageNet
///              MobileNetV2 (`MobileNetTrunk`; shipped)
///           -> per grid token GELU(Linear(features -> P)) -> flattened in grid order
///           -> Linear(grid²·P -> slots·(1 + kinds)) -> softmax(logits / T) per slot
///
/// A slot is a (position, distance) pair, position-major; its classes are "empty" and the kinds.
/// Immutable and shared by every stream; per-stream memory lives in `ObstacleExpert.State`.
/// Mirrors training/lttw/obstacle_expert.py.
public struct ObstacleExpert: @unchecked Sendable {
    /// What turns the frame into one token per grid cell.
    public enum Trunk: @unchecked Sendable {
        /// A `PatchEncoder`, its patch tokens embedded by a `ConvolutionalStem` when there is one
        /// (nil: by the encoder's own patch embedding).
        case vit(encoder: PatchEncoder, stem: ConvolutionalStem?)
        case mobileNet(MobileNetTrunk)
    }

    public let configuration: ObstacleExpertConfiguration
    public let trunk: Trunk
    public let preprocessing: Preprocessing
    let tokenProjection: LinearWeights
    let slots: LinearWeights

    /// `mean` and `std` are the model's preprocessing: the expert was trained on the scene
    /// model's normalisation at its own input size.
    public init(_ source: some WeightSource, configuration c: ObstacleExpertConfiguration, mean: [Float], std: [Float]) throws {
        configuration = c
        let a = c.architecture
        if let layers = a.mobileNetLayers {
            let mobileNet = try MobileNetTrunk(source, prefix: c.weightsPrefix + "trunk", layers: layers, imageSize: a.imageSize)
            precondition(mobileNet.outputSize == a.gridSide, "ObstacleExpert: an unvalidated configuration (\(a.imageSize) px, \(layers) layers)")
            trunk = .mobileNet(mobileNet)
        } else {
            let g = a.geometry
            let stem = try a.convolutionChannels.map {
                try ConvolutionalStem(source, prefix: c.weightsPrefix + "encoder.patch_embed", channels: $0, imageSize: g.imageSize)
            }
            trunk = .vit(
                encoder: try PatchEncoder(source, geometry: g, prefix: c.weightsPrefix + "encoder", embedsPatches: stem == nil),
                stem: stem)
        }
        tokenProjection = try LinearWeights(
            source, c.weightsPrefix + "token_proj", inputs: a.tokenWidth, outputs: a.tokenFeatures)
        slots = try LinearWeights(
            source, c.weightsPrefix + "slots", inputs: a.gridCells * a.tokenFeatures, outputs: c.slotCount * c.classCount)
        preprocessing = Preprocessing(inputSize: a.imageSize, interpolation: .area, mean: mean, std: std)
    }

    /// Multiply-adds ×2 of one frame (preprocessing aside).
    public var flops: Int {
        let a = configuration.architecture
        let head = 2 * (a.gridCells * a.tokenWidth * tokenProjection.outputs + slots.inputs * slots.outputs)
        switch trunk {
        case .vit(let encoder, let stem):
            let g = encoder.geometry
            let patchEmbedding = 2 * g.patchCount * 3 * g.patchSize * g.patchSize * g.width
            return g.flops - (stem == nil ? 0 : patchEmbedding) + (stem?.flops ?? 0) + head
        case .mobileNet(let mobileNet):
            return mobileNet.flops + head
        }
    }

    /// One stream's input, activations and slot probabilities, sized once.
    public final class State {
        /// [3, S, S] the preprocessed frame.
        public let input: Tensor
        let trunk: TrunkState
        let projected: Tensor
        /// [slots, 1 + kinds] calibrated probabilities of the last frame.
        public let probabilities: Tensor
        /// The frame squashed to the expert's size, split across the kernel lanes.
        let preprocessor: FramePreprocessor

        enum TrunkState {
            case vit(encoder: PatchEncoder.State, stem: ConvolutionalStem.State?)
            case mobileNet(MobileNetTrunk.State)
        }

        public init(_ expert: ObstacleExpert) {
            let c = expert.configuration
            let a = c.architecture
            input = Tensor(shape: [3, a.imageSize, a.imageSize])
            switch expert.trunk {
            case .vit(let encoder, let stem):
                trunk = .vit(encoder: PatchEncoder.State(encoder.geometry), stem: stem.map { ConvolutionalStem.State($0) })
            case .mobileNet(let mobileNet):
                trunk = .mobileNet(MobileNetTrunk.State(mobileNet))
            }
            projected = Tensor(shape: [a.gridCells, a.tokenFeatures])
            probabilities = Tensor(shape: [c.slotCount, c.classCount])
            preprocessor = FramePreprocessor(expert.preprocessing)
        }
    }

    /// Preprocesses `image` (RGB) and reads it. Allocates nothing once the stream has seen a frame
    /// this large.
    public func read(_ image: Image, state: State) throws(ImagingError) {
        try state.preprocessor.write(image, into: state.input.storage)
        read(input: UnsafeBufferPointer(state.input.storage), state: state)
    }

    /// Preprocesses and reads `image` on the calling thread alone, for a lane that shares the
    /// frame's other work (`ExpertReading`): `read(_:state:)`'s values on one lane, equal to its
    /// split read up to float rounding.
    func readOnThisThread(_ image: Image, state: State) throws(ImagingError) {
        try state.preprocessor.writeOnThisThread(image, into: state.input.storage)
        read(input: UnsafeBufferPointer(state.input.storage), state: state, onThisThread: true)
    }

    /// Reads an already preprocessed [3, S, S] input into `state.probabilities`, split over the
    /// kernel lanes.
    public func read(input: UnsafeBufferPointer<Float>, state: State) {
        read(input: input, state: state, onThisThread: false)
    }

    /// `read(input:state:)`, on the calling thread alone when `onThisThread`.
    func read(input: UnsafeBufferPointer<Float>, state: State, onThisThread: Bool) {
        let tokens: MatrixRef
        switch (trunk, state.trunk) {
        case (.vit(let encoder, let stem), .vit(let encoderState, let stemState)):
            if let stem, let stemState {
                if onThisThread {
                    stem.embedOnThisThread(input, state: stemState)
                    encoder.encodeOnThisThread(patchTokens: UnsafeBufferPointer(stemState.tokens.storage), state: encoderState)
                } else {
                    stem.embed(input, state: stemState)
                    encoder.encode(patchTokens: UnsafeBufferPointer(stemState.tokens.storage), state: encoderState)
                }
            } else if onThisThread {
                encoder.encodeOnThisThread(input, state: encoderState)
            } else {
                encoder.encode(input, state: encoderState)
            }
            tokens = encoderState.output.matrix.readOnly.rows(1..<encoder.geometry.tokens)
        case (.mobileNet(let mobileNet), .mobileNet(let mobileNetState)):
            if onThisThread {
                mobileNet.runOnThisThread(input, state: mobileNetState)
            } else {
                mobileNet.run(input, state: mobileNetState)
            }
            tokens = mobileNetState.tokens(mobileNet)
        default:
            preconditionFailure("ObstacleExpert: a state made for another expert")
        }
        tokenProjection.apply(tokens, into: state.projected.matrix, activation: .exact)
        // The projected grid, row-major, is the slots' one input row (PyTorch's flatten(1)).
        let grid = MatrixRef(UnsafeBufferPointer(state.projected.storage), rows: 1, columns: state.projected.count)
        let logits = MutableMatrixRef(state.probabilities.storage, rows: 1, columns: state.probabilities.count)
        slots.apply(grid, into: logits)
        let k = configuration.classCount
        let temperature = Float(configuration.temperature)
        let p = state.probabilities.storage.baseAddress!
        for slot in 0..<configuration.slotCount {
            let row = p + slot * k
            for j in 0..<k { row[j] /= temperature }
            Softmax.applyRow(row, count: k)
        }
    }

    /// The last frame's obstacles (obstacle_expert.read): each slot's most likely kind (first on
    /// ties) when its probability reaches the threshold; one per position and kind, at the
    /// distance of the nearest such slot (a car close ahead is never hidden by one read more surely
    /// far ahead) and the confidence of the surest (so a tracker's floor does not drop an obstacle
    /// read less surely near); most confident first.
    public func detections(_ state: State) -> [ObstacleDetection] {
        // In slot order of each one's nearest slot, as obstacle_expert.read's dict keeps them.
        var found: [ObstacleDetection] = []
        forEachDetection(state) { found.append($0) }
        // Stable: equal confidences keep slot order, as Python's sorted does.
        return found.enumerated().sorted { ($0.element.confidence, $1.offset) > ($1.element.confidence, $0.offset) }.map(\.element)
    }

    /// `detections`' obstacles in slot order, without collecting them: allocates nothing. A slot
    /// holds an obstacle when its most likely kind reaches the threshold and no nearer slot of its
    /// position (slots run near, mid, far) holds the same kind; its confidence is the surest of
    /// the slots of its position that hold that kind.
    public func forEachDetection(_ state: State, _ body: (ObstacleDetection) -> Void) {
        let distances = configuration.distances.count
        for slot in 0..<configuration.slotCount {
            guard var detection = detection(slot, state) else { continue }
            let first = slot / distances * distances
            let kind = detection.kind
            if (first..<slot).contains(where: { self.detection($0, state)?.kind == kind }) { continue }
            for farther in (slot + 1)..<(first + distances) {
                if let other = self.detection(farther, state), other.kind == kind {
                    detection.confidence = max(detection.confidence, other.confidence)
                }
            }
            body(detection)
        }
    }

    /// Slot `slot`'s most likely kind (the first on ties) with its place, when it reaches the threshold.
    func detection(_ slot: Int, _ state: State) -> ObstacleDetection? {
        let c = configuration
        let k = c.classCount
        let p = state.probabilities.storage
        var best = 1
        for j in 2..<k where p[slot * k + j] > p[slot * k + best] { best = j }
        let confidence = Double(p[slot * k + best])
        guard confidence >= c.threshold,
            let position = Position(rawValue: c.positions[slot / c.distances.count]),
            let distance = Distance(rawValue: c.distances[slot % c.distances.count])
        else { return nil }
        return ObstacleDetection(kind: c.kinds[best - 1], position: position, distance: distance, confidence: confidence)
    }
}
