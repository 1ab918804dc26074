import Kernels

/// The first layers of MobileNetV2 (Sandler et al. 2018), as the obstacle expert's trunk: a
/// network whose early layers were trained on ImageNet's real photographs, where a ViT trained
/// from scratch on renders never learned what a real person or car looks like
/// (training/lttw/obstacle_expert.py, `trunk: "mobilenet_v2"`).
///
///     frame [3, S, S] -> 3×3 stride-2 convolution, batch norm, ReLU6
///       -> inverted residual blocks: 1×1 expansion, ReLU6; depthwise 3×3, ReLU6; 1×1 projection
///          (the input added back when stride 1 keeps the channels)
///       -> tokens [(S / stride)², channels], row-major over the grid
///
/// Activations are position-major ([positions, channels]), so every 1×1 convolution is one
/// matrix product on the engine's kernels and the depthwise convolution reads channels
/// contiguously. Every batch norm is folded into its convolution at load (running statistics:
/// the expert reads frames as PyTorch's `eval()` does). The ReLU6 after the stem or an expansion
/// is fused into that product's store (`LinearWeights.applyReLU6`).
public struct MobileNetTrunk: @unchecked Sendable {
    /// MobileNetV2's inverted-residual stages (expansion, channels, blocks, first stride), as its
    /// paper and every ImageNet checkpoint lay them out (obstacle_expert.py's MOBILENET_V2_STAGES).
    static let stages = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]
    /// Feature layers a trunk may keep: the stem and at least one block, at most all 17 blocks.
    public static let layerRange = 2...18
    /// PyTorch's `nn.BatchNorm2d` default, which the training code keeps.
    static let batchNormEps: Float = 1e-5
    static let stemChannels = 32

    struct Block {
        let inputSize: Int
        let inputChannels: Int
        /// nil for the expansion-1 block, whose depthwise convolution reads the stem directly.
        let expansion: LinearWeights?
        let depthwise: DepthwiseConvolution
        let projection: LinearWeights
        let residual: Bool

        var hidden: Int { depthwise.channels }
        var outputSize: Int { depthwise.outputSize(inputSize) }
        var outputChannels: Int { projection.outputs }
        var inputPositions: Int { inputSize * inputSize }
        var outputPositions: Int { outputSize * outputSize }
    }

    public let imageSize: Int
    /// The stem as one matrix product over im2col rows: [32, 3·9], batch norm folded.
    let stem: LinearWeights
    let blocks: [Block]
    /// Own the folded weights the layers point into.
    private let folded: [Tensor]

    /// (input channels, output channels, stride, expansion) of feature layers 1 ..< 18.
    static var blockShapes: [(Int, Int, Int, Int)] {
        var shapes: [(Int, Int, Int, Int)] = []
        var channels = stemChannels
        for (t, c, n, s) in stages {
            for i in 0..<n {
                shapes.append((channels, c, i == 0 ? s : 1, t))
                channels = c
            }
        }
        return shapes
    }

    /// The output grid's stride for a trunk of `layers` feature layers (the stem halves, then each
    /// stride-2 block).
    public static func stride(layers: Int) -> Int {
        blockShapes.prefix(layers - 1).reduce(2) { $0 * $1.2 }
    }

    /// Channels of a trunk of `layers` feature layers' output.
    public static func channels(layers: Int) -> Int {
        layers == 1 ? stemChannels : blockShapes[layers - 2].1
    }

    /// Reads the flat layout's tensors under `prefix` (`prefix.0.0.weight`, `prefix.N.conv.K.…`,
    /// as PyTorch's state dict names `mobilenet_v2_features`) and folds each batch norm.
    public init(_ source: some WeightSource, prefix: String, layers: Int, imageSize: Int) throws {
        precondition(Self.layerRange.contains(layers), "MobileNetTrunk: \(layers) layers")
        self.imageSize = imageSize
        var folded: [Tensor] = []

        func batchNorm(_ name: String, _ channels: Int) throws -> (scale: [Float], shift: [Float]) {
            let gamma = try source.values("\(name).weight", shape: [channels])
            let beta = try source.values("\(name).bias", shape: [channels])
            let mean = try source.values("\(name).running_mean", shape: [channels])
            let variance = try source.values("\(name).running_var", shape: [channels])
            let scale = (0..<channels).map { gamma[$0] / (variance[$0] + Self.batchNormEps).squareRoot() }
            return (scale, (0..<channels).map { beta[$0] - mean[$0] * scale[$0] })
        }

        /// A convolution read as [outputs, inputs] (1×1, or 3×3 in `ConvolutionalStem.gather`'s
        /// column order: kernel row, kernel column, channel) with the batch norm `norm` folded into
        /// its rows and bias.
        func linear(_ convolution: String, _ norm: String, outputs: Int, inputs: Int, kernel: Int) throws -> LinearWeights {
            let taps = kernel * kernel, channels = inputs / taps
            let weight = try source.values("\(convolution).weight", shape: [outputs, channels, kernel, kernel])
            let (scale, shift) = try batchNorm(norm, outputs)
            let owner = Tensor(shape: [outputs * inputs + outputs])
            let values = owner.storage
            for o in 0..<outputs {
                for c in 0..<channels {
                    for k in 0..<taps { values[o * inputs + k * channels + c] = weight[o * inputs + c * taps + k] * scale[o] }
                }
                values[outputs * inputs + o] = shift[o]
            }
            folded.append(owner)
            return LinearWeights(
                weight: MatrixRef(UnsafePointer(values.baseAddress!), rows: outputs, columns: inputs),
                bias: UnsafeBufferPointer(rebasing: values[(outputs * inputs)..<(outputs * inputs + outputs)]))
        }

        stem = try linear("\(prefix).0.0", "\(prefix).0.1", outputs: Self.stemChannels, inputs: 27, kernel: 3)
        var size = (imageSize - 1) / 2 + 1
        var blocks: [Block] = []
        for (index, (c_in, c_out, stride, t)) in Self.blockShapes.prefix(layers - 1).enumerated() {
            let name = "\(prefix).\(index + 1).conv"
            let hidden = c_in * t
            // The expansion-1 block has no expansion: its depthwise layer is conv.0.
            let first = t == 1 ? 0 : 3
            let expansion = t == 1 ? nil : try linear("\(name).0", "\(name).1", outputs: hidden, inputs: c_in, kernel: 1)
            let (scale, shift) = try batchNorm("\(name).\(first + 1)", hidden)
            let depthwise = DepthwiseConvolution(
                weight: try source.values("\(name).\(first).weight", shape: [hidden, 1, 3, 3]), scale: scale, shift: shift, stride: stride)
            let projection = try linear("\(name).\(first + 3)", "\(name).\(first + 4)", outputs: c_out, inputs: hidden, kernel: 1)
            blocks.append(Block(
                inputSize: size, inputChannels: c_in, expansion: expansion, depthwise: depthwise, projection: projection,
                residual: stride == 1 && c_in == c_out))
            size = depthwise.outputSize(size)
        }
        self.blocks = blocks
        self.folded = folded
    }

    var stemOutputSize: Int { (imageSize - 1) / 2 + 1 }
    /// Side of the output grid.
    public var outputSize: Int { blocks.last!.outputSize }
    /// Channels of each output token.
    public var outputChannels: Int { blocks.last!.outputChannels }

    /// Multiply-adds ×2 of one image.
    public var flops: Int {
        let stemPositions = stemOutputSize * stemOutputSize
        return 2 * stemPositions * stem.inputs * stem.outputs + blocks.reduce(0) { total, b in
            total + 2 * ((b.expansion == nil ? 0 : b.inputPositions * b.inputChannels * b.hidden)
                         + b.outputPositions * b.hidden * 9 + b.outputPositions * b.hidden * b.outputChannels)
        }
    }

    /// One stream's activations, sized once for the widest layer.
    public final class State {
        /// The stem's im2col rows [stem positions, 27].
        let columns: Tensor
        /// Block inputs and outputs, in turn (a residual block writes back into its input).
        let activations: (Tensor, Tensor)
        /// Expansion outputs, alternating per block: a lane may start the next block's expansion
        /// while another still reads this block's for its depthwise convolution.
        let expanded: (Tensor, Tensor)
        let depthwise: Tensor
        /// Which of `activations` holds the last image's tokens.
        let outputIsFirst: Bool

        public init(_ trunk: MobileNetTrunk) {
            let stemPositions = trunk.stemOutputSize * trunk.stemOutputSize
            columns = Tensor(shape: [stemPositions, trunk.stem.inputs])
            let activationCount = trunk.blocks.reduce(stemPositions * trunk.stem.outputs) {
                max($0, $1.outputPositions * $1.outputChannels)
            }
            let expandedCount = trunk.blocks.map { $0.expansion == nil ? 0 : $0.inputPositions * $0.hidden }.max() ?? 0
            activations = (Tensor(shape: [activationCount]), Tensor(shape: [activationCount]))
            expanded = (Tensor(shape: [expandedCount]), Tensor(shape: [expandedCount]))
            depthwise = Tensor(shape: [trunk.blocks.map { $0.outputPositions * $0.hidden }.max() ?? 0])
            outputIsFirst = trunk.outputIsFirst
        }

        /// The last image's tokens, [grid², channels] row-major over the grid.
        func tokens(_ trunk: MobileNetTrunk) -> MatrixRef {
            let buffer = outputIsFirst ? activations.0 : activations.1
            return MatrixRef(UnsafePointer(buffer.storage.baseAddress!), rows: trunk.outputSize * trunk.outputSize, columns: trunk.outputChannels)
        }
    }

    /// Whether the output lands in the first activation buffer: the stem writes the first, and
    /// each block that is not residual moves to the other.
    var outputIsFirst: Bool { blocks.reduce(true) { $1.residual ? $0 : !$0 } }

    /// Reads one preprocessed image (CHW float32, imageSize²) into the state's tokens, each
    /// layer's positions split over the kernel lanes.
    public func run(_ image: UnsafeBufferPointer<Float>, state: State) {
        precondition(image.count == 3 * imageSize * imageSize, "MobileNetTrunk: image has \(image.count) values")
        Parallel.run(Pass(trunk: self, image: image, state: state))
    }

    /// `run` on the calling thread alone.
    public func runOnThisThread(_ image: UnsafeBufferPointer<Float>, state: State) {
        precondition(image.count == 3 * imageSize * imageSize, "MobileNetTrunk: image has \(image.count) values")
        Pass(trunk: self, image: image, state: state).run(.single)
    }

    /// Lanes share each layer by positions. A lane's 1×1 products read only its own positions,
    /// which it wrote itself (the same split of the same count), so the one barrier a block needs
    /// is before its depthwise convolution, which reads its neighbours'. (Internal so a test can
    /// see how many lanes ran it.)
    struct Pass: ParallelWork {
        let trunk: MobileNetTrunk
        let image: UnsafeBufferPointer<Float>
        let state: State

        func run(_ lane: Lane) {
            let stemSize = trunk.stemOutputSize
            let stemRows = lane.part(stemSize * stemSize)
            ConvolutionalStem.gather(
                image, channelStride: trunk.imageSize * trunk.imageSize, positionStride: 1, size: trunk.imageSize, channels: 3,
                positions: stemRows, into: state.columns)
            var current = state.activations.0, other = state.activations.1
            trunk.stem.applyReLU6(
                state.columns.matrix.readOnly.rows(stemRows),
                into: MutableMatrixRef(current.storage.baseAddress!, rows: stemSize * stemSize, columns: trunk.stem.outputs).rows(stemRows))
            for (index, block) in trunk.blocks.enumerated() {
                let inputRows = lane.part(block.inputPositions)
                var depthwiseInput = UnsafePointer(current.storage.baseAddress!)
                if let expansion = block.expansion {
                    let expanded = index % 2 == 0 ? state.expanded.0 : state.expanded.1
                    expansion.applyReLU6(
                        MatrixRef(depthwiseInput, rows: block.inputPositions, columns: block.inputChannels).rows(inputRows),
                        into: MutableMatrixRef(expanded.storage.baseAddress!, rows: block.inputPositions, columns: block.hidden).rows(inputRows))
                    depthwiseInput = UnsafePointer(expanded.storage.baseAddress!)
                }
                lane.barrier()
                let outputRows = lane.part(block.outputPositions)
                block.depthwise.apply(depthwiseInput, size: block.inputSize, into: state.depthwise.storage.baseAddress!, positions: outputRows)
                let target = block.residual ? current : other
                block.projection.apply(
                    MatrixRef(UnsafePointer(state.depthwise.storage.baseAddress!), rows: block.outputPositions, columns: block.hidden).rows(outputRows),
                    into: MutableMatrixRef(target.storage.baseAddress!, rows: block.outputPositions, columns: block.outputChannels).rows(outputRows),
                    accumulate: block.residual)
                if !block.residual { swap(&current, &other) }
            }
        }
    }
}
