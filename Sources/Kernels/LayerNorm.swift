import CKernels

/// Layer normalisation over the last dimension, as `torch.nn.LayerNorm` computes it: biased
/// variance, `eps` inside the square root. The rows run in CKernels on the matrix products'
/// instruction set, like `Softmax`.
public enum LayerNorm {
    /// `y = (x - mean) / sqrt(var + eps) · gamma + beta`, row by row. `gamma` and `beta` hold
    /// `x.columns` values, or are nil for a layer without an affine part. `y` may be `x` itself
    /// (each row is read fully before it is written). The mean and variance are two passes over
    /// the row rather than one running sum of squares, which loses digits when the mean is large
    /// next to the spread — common in residual streams.
    public static func apply(
        _ x: MatrixRef, gamma: UnsafeBufferPointer<Float>?, beta: UnsafeBufferPointer<Float>?,
        eps: Float, into y: MutableMatrixRef, kernel: GEMMKernel = .selected
    ) {
        let n = x.columns
        precondition(y.rows == x.rows && y.columns == n, "LayerNorm: x is \(x.rows)x\(n), y is \(y.rows)x\(y.columns)")
        precondition(gamma.map { $0.count == n } ?? true, "LayerNorm: gamma has \(gamma?.count ?? 0) values for rows of \(n)")
        precondition(beta.map { $0.count == n } ?? true, "LayerNorm: beta has \(beta?.count ?? 0) values for rows of \(n)")
        precondition(kernel.isSupported, "LayerNorm: this CPU cannot run the \(kernel) kernel")
        lttw_layer_norm_rows(kernel.c, x.base, x.rowStride, y.base, y.rowStride, x.rows, n,
                             gamma?.baseAddress, beta?.baseAddress, eps)
    }
}
