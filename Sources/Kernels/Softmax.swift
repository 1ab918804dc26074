import CKernels

/// Softmax over the last dimension, numerically stable: the row maximum is subtracted before
/// `exp`, so large logits cannot overflow.
///
/// The rows run in CKernels on the same instruction set as the matrix products (AVX-512, AVX2,
/// NEON, portable C): the attention scores of every encoder layer pass through here, and Swift's
/// `SIMD8` compiles to two SSE2 halves in a portable x86-64 build, a quarter of what AVX-512 does
/// per instruction.
public enum Softmax {
    /// Replaces each row of `x` with its softmax. Entries of −∞ (masked) get probability 0. A row
    /// whose entries are all −∞ has no distribution; it becomes all zeros rather than NaN (what
    /// PyTorch gives), so one fully masked row cannot poison the rest of the stream.
    public static func apply(_ x: MutableMatrixRef, kernel: GEMMKernel = .selected) {
        precondition(kernel.isSupported, "Softmax: this CPU cannot run the \(kernel) kernel")
        lttw_softmax_rows(kernel.c, x.base, x.rows, x.columns, x.rowStride)
    }

    /// The softmax of the first `count` values at `p`, in place.
    public static func applyRow(_ p: UnsafeMutablePointer<Float>, count: Int, kernel: GEMMKernel = .selected) {
        precondition(kernel.isSupported, "Softmax: this CPU cannot run the \(kernel) kernel")
        lttw_softmax_rows(kernel.c, p, 1, count, count)
    }

    /// eˣ of each value, by the exp the softmax uses on `kernel` (the Cephes `expf` scheme, within
    /// 2 ulp of libm's on [−87, 0]; exactly 0 below ln(FLT_MIN), −∞ included). For tests.
    static func exp(_ values: [Float], kernel: GEMMKernel) -> [Float] {
        precondition(kernel.isSupported, "Softmax.exp: this CPU cannot run the \(kernel) kernel")
        var out = [Float](repeating: 0, count: values.count)
        values.withUnsafeBufferPointer { x in
            out.withUnsafeMutableBufferPointer { y in
                lttw_exp(kernel.c, x.baseAddress, y.baseAddress, values.count)
            }
        }
        return out
    }
}
