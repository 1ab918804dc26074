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
        typealias V = SmallProducts.V
        if count == 0 { return }
        var i = 0
        var maxV = V(repeating: -.infinity)
        while i + 8 <= count {
            maxV = SmallProducts.maximum(maxV, SmallProducts.load(p + i))
            i += 8
        }
        var maximum = maxV.max()
        while i < count { maximum = max(maximum, p[i]); i += 1 }
        if maximum == -.infinity {
            p.update(repeating: 0, count: count)
            return
        }

        let shift = V(repeating: maximum)
        var sumV = V()
        i = 0
        while i + 8 <= count {
            let e = exp(SmallProducts.load(p + i) - shift)
            SmallProducts.store(e, p + i)
            sumV += e
            i += 8
        }
        if i < count {
            // The last 1–7 values as one vector padded with −∞, whose exp is 0.
            var tail = V(repeating: -.infinity)
            for lane in 0..<(count - i) { tail[lane] = p[i + lane] }
            let e = exp(tail - shift)
            for lane in 0..<(count - i) { p[i + lane] = e[lane] }
            sumV += e
        }
        let sum = sumV.sum()

        let inv = 1 / sum
        let invV = V(repeating: inv)
        i = 0
        while i + 8 <= count {
            SmallProducts.store(SmallProducts.load(p + i) * invV, p + i)
            i += 8
        }
        while i < count { p[i] *= inv; i += 1 }
    }

    /// eˣ for Float32 lanes: x = n·ln2 + r with |r| ≤ ln2/2, a degree-6 polynomial for eʳ (the
    /// Cephes `expf` coefficients) and 2ⁿ built in the exponent bits. Within 2 ulp of libm's
    /// `expf` (checked in the tests); vectorised because the encoder's softmax calls it for
    /// every attention score, where a libm call per value costs as much as a small matmul.
    /// Inputs below ln(FLT_MIN) — masked scores, −∞ — give exactly 0; inputs above ln(FLT_MAX)
    /// cannot occur after the max is subtracted and are clamped.
    @inline(__always)
    static func exp(_ input: SIMD8<Float>) -> SIMD8<Float> {
        typealias V = SIMD8<Float>
        let low: Float = -87.33654, high: Float = 88.72283
        let x = SmallProducts.clamp(input, V(repeating: low), V(repeating: high))
        // n = round(x / ln 2), by adding and subtracting 1.5·2²³.
        let magic = V(repeating: 12_582_912)
        let n = (x * V(repeating: 1.442695040888963) + magic) - magic
        // r = x - n·ln2, with ln2 split in two so the product is exact.
        var r = x - n * V(repeating: 0.693359375)
        r = r - n * V(repeating: -2.12194440e-4)
        var y = V(repeating: 1.9875691500e-4)
        y = y * r + V(repeating: 1.3981999507e-3)
        y = y * r + V(repeating: 8.3334519073e-3)
        y = y * r + V(repeating: 4.1665795894e-2)
        y = y * r + V(repeating: 1.6666665459e-1)
        y = y * r + V(repeating: 5.0000001201e-1)
        y = y * (r * r) + r + V(repeating: 1)
        // 2ⁿ: n + 127 placed in the exponent field. n ≥ -126 here, so the field stays ≥ 1.
        let biased = n + V(repeating: 127 + 8_388_608)  // 2²³ pushes n + 127 into the low mantissa bits
        let bits = unsafeBitCast(biased, to: SIMD8<UInt32>.self)
        let scale = unsafeBitCast((bits & 0x7F_FFFF) &<< 23, to: V.self)
        var result = y * scale
        result.replace(with: 0, where: input .< V(repeating: low))
        return result
    }
}
