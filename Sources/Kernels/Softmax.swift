#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Softmax over the last dimension, numerically stable: the row maximum is subtracted before
/// `exp`, so large logits cannot overflow.
public enum Softmax {
    /// Replaces each row of `x` with its softmax. Entries of −∞ (masked) get probability 0. A row
    /// whose entries are all −∞ has no distribution; it becomes all zeros rather than NaN (what
    /// PyTorch gives), so one fully masked row cannot poison the rest of the stream.
    public static func apply(_ x: MutableMatrixRef) {
        for r in 0..<x.rows { applyRow(x.row(r), count: x.columns) }
    }

    /// The softmax of the first `count` values at `p`, in place.
    public static func applyRow(_ p: UnsafeMutablePointer<Float>, count: Int) {
        if count == 0 { return }
        var maximum = -Float.infinity
        for j in 0..<count { maximum = max(maximum, p[j]) }
        if maximum == -.infinity {
            p.update(repeating: 0, count: count)
            return
        }
        var sum: Float = 0
        for j in 0..<count {
            let e = expf(p[j] - maximum)
            p[j] = e
            sum += e
        }
        let inv = 1 / sum
        for j in 0..<count { p[j] *= inv }
    }
}
