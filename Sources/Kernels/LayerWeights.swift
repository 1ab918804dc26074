/// Where a model's tensors come from: a memory-mapped safetensors file, or arrays in a test.
/// Implementations check the name and shape and say which file and tensor is wrong.
public protocol WeightSource {
    /// The float32 values of the tensor `name`, which must have exactly `shape`.
    func values(_ name: String, shape: [Int]) throws -> UnsafeBufferPointer<Float>
}

/// `nn.Linear` weights: `weight` is [out, in] as PyTorch stores it, `bias` [out] or absent.
///
/// The pointers refer to immutable memory owned by the model (the mapped weight file), which
/// outlives every stream; that is why sharing them across threads is sound.
public struct LinearWeights: @unchecked Sendable {
    public let weight: MatrixRef
    public let bias: UnsafeBufferPointer<Float>?

    public init(weight: MatrixRef, bias: UnsafeBufferPointer<Float>?) {
        self.weight = weight
        self.bias = bias
    }

    /// Loads `prefix.weight` [outputs, inputs] and, when `bias` is true, `prefix.bias` [outputs].
    public init(_ source: some WeightSource, _ prefix: String, inputs: Int, outputs: Int, bias: Bool = true) throws {
        let w = try source.values("\(prefix).weight", shape: [outputs, inputs])
        weight = MatrixRef(w, rows: outputs, columns: inputs)
        self.bias = bias ? try source.values("\(prefix).bias", shape: [outputs]) : nil
    }

    public var inputs: Int { weight.columns }
    public var outputs: Int { weight.rows }

    /// The layer restricted to the outputs `range` (rows of the weight, entries of the bias): one
    /// lane's share of a product split by output columns.
    @inlinable
    public func outputs(_ range: Range<Int>) -> LinearWeights {
        LinearWeights(weight: weight.rows(range), bias: bias.map { UnsafeBufferPointer(rebasing: $0[range]) })
    }

    /// `y = x·Wᵀ + b`, or `y += x·Wᵀ + b` with `accumulate` (a residual connection for free).
    @inlinable
    public func apply(_ x: MatrixRef, into y: MutableMatrixRef, accumulate: Bool = false) {
        Matmul.linear(x, weight: weight, bias: bias, into: y, accumulate: accumulate)
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
