/// Layer normalisation over the last dimension, as `torch.nn.LayerNorm` computes it: biased
/// variance, `eps` inside the square root.
public enum LayerNorm {
    /// `y = (x - mean) / sqrt(var + eps) · gamma + beta`, row by row. `gamma` and `beta` hold
    /// `x.columns` values, or are nil for a layer without an affine part. `y` may be `x` itself
    /// (each row is read fully before it is written). The mean and variance are two passes over
    /// the row rather than one running sum of squares, which loses digits when the mean is large
    /// next to the spread — common in residual streams.
    public static func apply(
        _ x: MatrixRef, gamma: UnsafeBufferPointer<Float>?, beta: UnsafeBufferPointer<Float>?,
        eps: Float, into y: MutableMatrixRef
    ) {
        let n = x.columns
        precondition(y.rows == x.rows && y.columns == n, "LayerNorm: x is \(x.rows)x\(n), y is \(y.rows)x\(y.columns)")
        precondition(gamma.map { $0.count == n } ?? true, "LayerNorm: gamma has \(gamma?.count ?? 0) values for rows of \(n)")
        precondition(beta.map { $0.count == n } ?? true, "LayerNorm: beta has \(beta?.count ?? 0) values for rows of \(n)")
        if n == 0 { return }
        typealias V = SmallProducts.V
        let g = gamma?.baseAddress
        let b = beta?.baseAddress
        for r in 0..<x.rows {
            let src = x.row(r)
            let dst = y.row(r)
            var acc = V()
            var i = 0
            while i + 8 <= n { acc += SmallProducts.load(src + i); i += 8 }
            var sum = acc.sum()
            while i < n { sum += src[i]; i += 1 }
            let mean = sum / Float(n)

            let meanV = V(repeating: mean)
            var sq = V()
            i = 0
            while i + 8 <= n {
                let d = SmallProducts.load(src + i) - meanV
                sq += d * d
                i += 8
            }
            var squares = sq.sum()
            while i < n { let d = src[i] - mean; squares += d * d; i += 1 }
            let inv = 1 / (squares / Float(n) + eps).squareRoot()

            for j in 0..<n {
                var v = (src[j] - mean) * inv
                if let g { v *= g[j] }
                if let b { v += b[j] }
                dst[j] = v
            }
        }
    }
}
