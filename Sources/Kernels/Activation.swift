#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// GELU, in the two forms checkpoints are trained with.
public enum GELU: Sendable, Equatable {
    /// `0.5 · x · (1 + erf(x / √2))` — `F.gelu(x)`, `nn.GELU()`; the project's model uses this.
    case exact
    /// `0.5 · x · (1 + tanh(√(2/π) · (x + 0.044715 · x³)))` — `F.gelu(x, approximate="tanh")`,
    /// the original GPT-2's `gelu_new`. Converted GPT-2 checkpoints need this one.
    case tanh

    /// Applies the activation in place to every value of `x`.
    public func apply(_ x: MutableMatrixRef) {
        if x.isContiguous {
            applyRun(x.base, x.rows * x.columns)
        } else {
            for r in 0..<x.rows { applyRun(x.row(r), x.columns) }
        }
    }

    /// The activation of one value, for scalar code and tests.
    public func callAsFunction(_ x: Float) -> Float {
        switch self {
        case .exact: return 0.5 * x * (1 + GELU.erf(x * 0.7071067811865476))
        case .tanh: return 0.5 * x * (1 + tanhf(GELU.tanhScale * (x + 0.044715 * x * x * x)))
        }
    }

    static let tanhScale: Float = 0.7978845608028654  // √(2/π)

    private func applyRun(_ p: UnsafeMutablePointer<Float>, _ n: Int) {
        switch self {
        case .exact:
            typealias V = SmallProducts.V
            let half = V(repeating: 0.5), one = V(repeating: 1), invSqrt2 = V(repeating: 0.7071067811865476)
            var i = 0
            while i + 8 <= n {
                let x = SmallProducts.load(p + i)
                SmallProducts.store(half * x * (one + GELU.erf(x * invSqrt2)), p + i)
                i += 8
            }
            while i < n {
                p[i] = self(p[i])
                i += 1
            }
        case .tanh:
            for i in 0..<n { p[i] = self(p[i]) }
        }
    }

    /// erf for Float32 as a rational function of x on [-4, 4] (±1 outside, where erf rounds to ±1
    /// in Float32) — the approximation Eigen and XLA use. Max absolute error 4.2e-7 against the
    /// exact erf (checked in the tests), far inside the parity tolerance, and it vectorises where
    /// calling libm's `erff` per value would dominate the encoder's MLP time.
    @inline(__always)
    static func erf(_ input: SmallProducts.V) -> SmallProducts.V {
        typealias V = SmallProducts.V
        let x = SmallProducts.clamp(input, V(repeating: -4), V(repeating: 4))
        let x2 = x * x
        var p = V(repeating: -2.72614225801306e-10)
        p = p * x2 + V(repeating: 2.77068142495902e-08)
        p = p * x2 + V(repeating: -2.10102402082508e-06)
        p = p * x2 + V(repeating: -5.69250639462346e-05)
        p = p * x2 + V(repeating: -7.34990630326855e-04)
        p = p * x2 + V(repeating: -2.95459980854025e-03)
        p = p * x2 + V(repeating: -1.60960333262415e-02)
        p = p * x
        var q = V(repeating: -1.45660718464996e-05)
        q = q * x2 + V(repeating: -2.13374055278905e-04)
        q = q * x2 + V(repeating: -1.68282697438203e-03)
        q = q * x2 + V(repeating: -7.37332916720468e-03)
        q = q * x2 + V(repeating: -1.42647390514189e-02)
        return p / q
    }

    /// The scalar form of `erf(_:)`, so the tail of a row gets the same values as its body.
    @inline(__always)
    static func erf(_ x: Float) -> Float {
        erf(SmallProducts.V(repeating: x))[0]
    }
}
