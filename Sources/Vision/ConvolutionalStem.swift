import Kernels

/// A patch embedding made of 3×3, stride-2, padding-1 convolutions with GELU between them, one
/// per halving from the image to the patch grid (training/lttw/obstacle_expert.py's `conv_stem`).
/// A ViT trained from scratch on a CPU learns shapes far sooner through one ("Early convolutions
/// help transformers see better", Xiao et al. 2021) than through a single stride-P patch map.
///
/// Each convolution is one matrix product: the input's 3×3 neighbourhoods gathered into rows
/// (im2col: kernel row, then kernel column, then channel) times the kernel as a [outputs, 9·inputs]
/// matrix, its columns put in that order at load (PyTorch stores channel, then kernel row, then
/// kernel column). Channel-last rows let a tap's channels be copied as one run from a
/// position-major input instead of scattered nine values apart. The first reads the preprocessed
/// frame (CHW); each later one reads its predecessor's output, position-major ([positions,
/// channels]); the last output is the patch tokens, row-major over the grid, as PyTorch's
/// `flatten(2).transpose(1, 2)`.
public struct ConvolutionalStem: @unchecked Sendable {
    struct Layer {
        let kernel: LinearWeights
        /// The kernel's values in channel-last column order, which `kernel` reads.
        let kernelValues: Tensor
        let inputChannels: Int
        let inputSize: Int
        /// GELU on the output (every layer but the last).
        let activates: Bool

        var outputChannels: Int { kernel.outputs }
        var outputSize: Int { (inputSize - 1) / 2 + 1 }
        var positions: Int { outputSize * outputSize }
    }

    let layers: [Layer]

    /// Reads `prefix.N.weight` / `prefix.N.bias` for the convolutions at N = 0, 2, 4, … (a PyTorch
    /// Sequential with a GELU after each convolution but the last). `channels` runs from the
    /// image's 3 to the encoder's width.
    public init(_ source: some WeightSource, prefix: String, channels: [Int], imageSize: Int) throws {
        precondition(channels.count >= 2 && channels[0] == 3, "ConvolutionalStem: channels \(channels)")
        var size = imageSize
        var layers: [Layer] = []
        for i in 0..<(channels.count - 1) {
            let inputs = channels[i], outputs = channels[i + 1]
            let name = "\(prefix).\(2 * i)"
            let kernel = try source.values("\(name).weight", shape: [outputs, inputs, 3, 3])
            let reordered = Self.channelLast(kernel, outputs: outputs, inputs: inputs)
            layers.append(Layer(
                kernel: LinearWeights(
                    weight: MatrixRef(UnsafeBufferPointer(reordered.storage), rows: outputs, columns: 9 * inputs),
                    bias: try source.values("\(name).bias", shape: [outputs])),
                kernelValues: reordered, inputChannels: inputs, inputSize: size, activates: i + 2 < channels.count))
            size = (size - 1) / 2 + 1
        }
        self.layers = layers
    }

    /// A [outputs, inputs, 3, 3] kernel as [outputs, 9·inputs] with columns (kernel row, kernel
    /// column, channel): the gather's row order.
    static func channelLast(_ kernel: UnsafeBufferPointer<Float>, outputs: Int, inputs: Int) -> Tensor {
        let reordered = Tensor(shape: [outputs, 9 * inputs])
        for o in 0..<outputs {
            for c in 0..<inputs {
                for k in 0..<9 { reordered.storage[o * 9 * inputs + k * inputs + c] = kernel[(o * inputs + c) * 9 + k] }
            }
        }
        return reordered
    }

    /// Side of the output grid.
    public var outputSize: Int { layers.last!.outputSize }
    /// Values of one output: [grid², width].
    public var outputCount: Int { layers.last!.positions * layers.last!.outputChannels }

    /// Multiply-adds ×2 of one image.
    public var flops: Int { layers.reduce(0) { $0 + 2 * $1.positions * $1.kernel.inputs * $1.outputChannels } }

    /// One stream's gathered neighbourhoods and layer outputs, sized once.
    public final class State {
        let columns: [Tensor]
        let outputs: [Tensor]
        /// The patch tokens of the last image: [grid², width].
        public var tokens: Tensor { outputs.last! }

        public init(_ stem: ConvolutionalStem) {
            columns = stem.layers.map { Tensor(shape: [$0.positions, $0.kernel.inputs]) }
            outputs = stem.layers.map { Tensor(shape: [$0.positions, $0.outputChannels]) }
        }
    }

    /// Embeds one preprocessed image (CHW float32) into `state.tokens`, each layer's output
    /// positions split over the kernel lanes.
    public func embed(_ image: UnsafeBufferPointer<Float>, state: State) {
        precondition(image.count == 3 * layers[0].inputSize * layers[0].inputSize, "ConvolutionalStem: image has \(image.count) values")
        Parallel.run(Pass(stem: self, image: image, state: state))
    }

    /// Embeds one image on the calling thread alone (a crop reader reads each crop on one lane).
    public func embedOnThisThread(_ image: UnsafeBufferPointer<Float>, state: State) {
        precondition(image.count == 3 * layers[0].inputSize * layers[0].inputSize, "ConvolutionalStem: image has \(image.count) values")
        Pass(stem: self, image: image, state: state).run(.single)
    }

    private struct Pass: ParallelWork {
        let stem: ConvolutionalStem
        let image: UnsafeBufferPointer<Float>
        let state: State

        func run(_ lane: Lane) {
            for (index, layer) in stem.layers.enumerated() {
                if index > 0 { lane.barrier() }  // the previous layer's every position is ready
                let rows = lane.part(layer.positions)
                if index == 0 {
                    let plane = layer.inputSize * layer.inputSize
                    ConvolutionalStem.gather(
                        image, channelStride: plane, positionStride: 1, size: layer.inputSize, channels: layer.inputChannels,
                        positions: rows, into: state.columns[0])
                } else {
                    ConvolutionalStem.gather(
                        UnsafeBufferPointer(state.outputs[index - 1].storage), channelStride: 1, positionStride: layer.inputChannels,
                        size: layer.inputSize, channels: layer.inputChannels, positions: rows, into: state.columns[index])
                }
                layer.kernel.apply(
                    state.columns[index].matrix.readOnly.rows(rows), into: state.outputs[index].matrix.rows(rows),
                    activation: layer.activates ? .exact : nil)
            }
        }
    }

    /// im2col: row p holds output position p's 3×3 neighbourhood (kernel row, kernel column, then
    /// every channel; zero outside the input), for a stride-2, padding-1 convolution over a
    /// `size`×`size` input of `channels`. The input is read through strides, so one gather serves
    /// the planar frame (channel stride size², position stride 1) and a layer's position-major
    /// output (channel stride 1: each tap's channels one contiguous copy).
    static func gather(
        _ input: UnsafeBufferPointer<Float>, channelStride: Int, positionStride: Int, size: Int, channels c: Int,
        positions: Range<Int>, into columns: Tensor
    ) {
        let out = (size - 1) / 2 + 1
        let source = input.baseAddress!
        let width = columns.shape[1]
        for p in positions {
            let oy = p / out, ox = p % out
            var row = columns.storage.baseAddress! + p * width
            for ky in 0..<3 {
                let y = 2 * oy - 1 + ky
                for kx in 0..<3 {
                    let x = 2 * ox - 1 + kx
                    if y >= 0 && y < size && x >= 0 && x < size {
                        let pixel = source + (y * size + x) * positionStride
                        if channelStride == 1 {
                            row.update(from: pixel, count: c)
                        } else {
                            for channel in 0..<c { row[channel] = pixel[channel * channelStride] }
                        }
                    } else {
                        row.update(repeating: 0, count: c)
                    }
                    row += c
                }
            }
        }
    }
}
