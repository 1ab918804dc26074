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

            // Eight at a time where the row has both affine parts (every layer of the model): the
            // same float operations in the same order as the scalar loop, so the same values.
            var j = 0
            if let g, let b {
                let invV = V(repeating: inv)
                while j + 8 <= n {
                    let v = (SmallProducts.load(src + j) - meanV) * invV * SmallProducts.load(g + j) + SmallProducts.load(b + j)
                    SmallProducts.store(v, dst + j)
                    j += 8
                }
            }
            while j < n {
                var v = (src[j] - mean) * inv
                if let g { v *= g[j] }
                if let b { v += b[j] }
                dst[j] = v
                j += 1
            }
        }
    }
}
