/// Where a model's tensors come from: a memory-mapped safetensors file, or arrays in a test.
/// Implementations check the name and shape and say which file and tensor is wrong.
public protocol WeightSource {
    /// The float32 values of the tensor `name`, which must have exactly `shape`.
    func values(_ name: String, shape: [Int]) throws -> UnsafeBufferPointer<Float>
}

/// `nn.Linear` weights: `weight` is [out, in] as PyTorch stores it, `bias` [out] or absent, and
/// the same weight packed once for the selected `GEMMKernel`, which every product uses.
///
/// The pointers refer to immutable memory owned by the model (the mapped weight file and the
/// packed copy), which outlives every stream; that is why sharing them across threads is sound.
public struct LinearWeights: @unchecked Sendable {
    public let weight: MatrixRef
    public let bias: UnsafeBufferPointer<Float>?
    /// The packed panels of `weight` (of these outputs only, for a slice from `outputs(_:)`).
    public let packed: PackedMatrix
    /// Owns the packed copy, so slices keep it alive.
    private let packedOwner: PackedWeights

    /// Output ranges split on multiples of this many columns start on a panel of every kernel
    /// (their panel widths divide it), so lanes can split a layer by outputs.
    public static let columnGranule = 32

    /// Packs `weight` for `kernel` (one allocation, at load).
    public init(weight: MatrixRef, bias: UnsafeBufferPointer<Float>?, kernel: GEMMKernel = .selected) {
        precondition(bias.map { $0.count == weight.rows } ?? true, "LinearWeights: bias has \(bias?.count ?? 0) values for \(weight.rows) outputs")
        self.weight = weight
        self.bias = bias
        packedOwner = PackedWeights(weight, kernel: kernel)
        packed = packedOwner.matrix
    }

    private init(weight: MatrixRef, bias: UnsafeBufferPointer<Float>?, packed: PackedMatrix, owner: PackedWeights) {
        self.weight = weight
        self.bias = bias
        self.packed = packed
        packedOwner = owner
    }

    /// Loads `prefix.weight` [outputs, inputs] and, when `bias` is true, `prefix.bias` [outputs].
    public init(_ source: some WeightSource, _ prefix: String, inputs: Int, outputs: Int, bias: Bool = true) throws {
        let w = try source.values("\(prefix).weight", shape: [outputs, inputs])
        self.init(
            weight: MatrixRef(w, rows: outputs, columns: inputs),
            bias: bias ? try source.values("\(prefix).bias", shape: [outputs]) : nil)
    }

    public var inputs: Int { weight.columns }
    public var outputs: Int { weight.rows }

    /// The layer restricted to the outputs `range` (rows of the weight, entries of the bias): one
    /// lane's share of a product split by output columns. `range` starts on a multiple of
    /// `columnGranule` (`Lane.part(_:granule:)` gives such ranges).
    public func outputs(_ range: Range<Int>) -> LinearWeights {
        LinearWeights(
            weight: weight.rows(range), bias: bias.map { UnsafeBufferPointer(rebasing: $0[range]) },
            packed: packed.outputs(range), owner: packedOwner)
    }

    /// `y = x·Wᵀ + b`, `y += x·Wᵀ + b` with `accumulate` (a residual connection for free), or
    /// `y = GELU(x·Wᵀ + b)` with `activation` — fused into the product where the kernel has it
    /// (the exact GELU), applied after it otherwise.
    public func apply(_ x: MatrixRef, into y: MutableMatrixRef, accumulate: Bool = false, activation: GELU? = nil) {
        Matmul.linear(
            x, packed: packed, bias: bias, into: y, accumulate: accumulate, activation: activation == .exact ? .gelu : .none)
        if let activation, activation != .exact { activation.apply(y) }
    }

    /// `y = min(max(x·Wᵀ + b, 0), 6)`: MobileNetV2's stem and expansions, the clamp fused into the
    /// product's store, so the depthwise convolution after them reads values already clamped.
    public func applyReLU6(_ x: MatrixRef, into y: MutableMatrixRef) {
        Matmul.linear(x, packed: packed, bias: bias, into: y, activation: .relu6)
    }
}

/// `nn.LayerNorm` weights over the last dimension.
public struct LayerNormWeights: @unchecked Sendable {
    public let gamma: UnsafeBufferPointer<Float>
    public let beta: UnsafeBufferPointer<Float>
    public let eps: Float

    public init(_ source: some WeightSource, _ prefix: String, width: Int, eps: Float) throws {
        gamma = try source.values("\(prefix).weight", shape: [width])
        beta = try source.values("\(prefix).bias", shape: [width])
        self.eps = eps
    }

    @inlinable
    public func apply(_ x: MatrixRef, into y: MutableMatrixRef) {
        LayerNorm.apply(x, gamma: gamma, beta: beta, eps: eps, into: y)
    }
}
