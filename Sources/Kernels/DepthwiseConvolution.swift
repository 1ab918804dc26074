import CKernels

/// MobileNetV2's depthwise 3×3 convolution (padding 1, stride 1 or 2) and the ReLU6 after it,
/// over position-major activations ([positions, channels], channels contiguous).
///
/// The input is read as it lies: the stem or 1×1 expansion before it clamps its own output in the
/// product's store (`LinearWeights.applyReLU6`), once per value rather than at each of the nine
/// taps that read it. The batch norm after the convolution is folded into the taps and the bias
/// at load. Runs in CKernels (`lttw_depthwise3x3`) on the instruction set the matrix products use.
public struct DepthwiseConvolution: @unchecked Sendable {
    public let channels: Int
    public let stride: Int
    /// [9, channels], tap-major (kernel row, then column), the batch norm's scale folded in.
    let taps: UnsafeBufferPointer<Float>
    /// [channels] the batch norm's shift.
    let bias: UnsafeBufferPointer<Float>
    /// Owns `taps` and `bias` (one allocation, at load).
    private let owner: Tensor
    let kernel: GEMMKernel

    /// `weight` as PyTorch stores a depthwise kernel, [channels, 1, 3, 3]; each channel's output
    /// is then multiplied by `scale` and `shift` added (a batch norm at its running statistics).
    public init(weight: UnsafeBufferPointer<Float>, scale: [Float], shift: [Float], stride: Int, kernel: GEMMKernel = .selected) {
        let channels = scale.count
        precondition(weight.count == 9 * channels && shift.count == channels && (stride == 1 || stride == 2),
                     "DepthwiseConvolution: \(weight.count) weights, \(channels) scales, \(shift.count) shifts, stride \(stride)")
        precondition(kernel.isSupported, "DepthwiseConvolution: this CPU cannot run the \(kernel) kernel")
        owner = Tensor(shape: [10, channels])
        let values = owner.storage
        for c in 0..<channels {
            for tap in 0..<9 { values[tap * channels + c] = weight[c * 9 + tap] * scale[c] }
            values[9 * channels + c] = shift[c]
        }
        taps = UnsafeBufferPointer(rebasing: values[0..<(9 * channels)])
        bias = UnsafeBufferPointer(rebasing: values[(9 * channels)...])
        self.channels = channels
        self.stride = stride
        self.kernel = kernel
    }

    /// Side of the output for an input of side `size`.
    public func outputSize(_ size: Int) -> Int { (size - 1) / stride + 1 }

    /// Writes output positions `positions` (row-major over the output grid) of `y`
    /// [outputSize², channels] from `x` [size², channels]. Reads any input position, so every
    /// lane's share of `x` must be written before any lane calls this.
    public func apply(_ x: UnsafePointer<Float>, size: Int, into y: UnsafeMutablePointer<Float>, positions: Range<Int>) {
        precondition(positions.upperBound <= outputSize(size) * outputSize(size), "DepthwiseConvolution: positions \(positions) past the output")
        guard !positions.isEmpty else { return }
        lttw_depthwise3x3(kernel.c, x, size, channels, stride, taps.baseAddress, bias.baseAddress, y, positions.lowerBound, positions.count)
    }
}
