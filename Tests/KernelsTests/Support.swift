import Foundation
import Kernels
import TestSupport
import Testing

/// Reference outputs written by scripts/make_kernel_fixtures.py (raw little-endian float32).
enum Fixtures {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    static func floats(_ name: String) throws -> [Float] {
        let data = [UInt8](try Data(contentsOf: folder.appendingPathComponent("\(name).f32")))
        return stride(from: 0, to: data.count, by: 4).map { (i: Int) -> Float in
            var bits: UInt32 = 0
            for byte in 0..<4 { bits |= UInt32(data[i + byte]) << (8 * UInt32(byte)) }
            return Float(bitPattern: bits)
        }
    }

    static func tensor(_ name: String, _ shape: [Int]) throws -> Tensor {
        Tensor(shape: shape, values: try floats(name))
    }
}

/// Seeded random floats and tensors (TestSupport's SplitMix64), so random test inputs are the same
/// on every run and every machine.
struct SeededRandom {
    private var generator: SplitMix64

    init(seed: UInt64) { generator = SplitMix64(seed: seed) }

    mutating func next() -> UInt64 { generator.next() }

    /// Uniform in [-scale, scale).
    mutating func float(_ scale: Float = 1) -> Float {
        (Float(next() >> 40) / Float(1 << 24) * 2 - 1) * scale
    }

    mutating func floats(_ count: Int, scale: Float = 1) -> [Float] {
        (0..<count).map { _ in float(scale) }
    }

    mutating func tensor(_ shape: [Int], scale: Float = 1) -> Tensor {
        Tensor(shape: shape, values: floats(shape.reduce(1, *), scale: scale))
    }
}

/// Element-wise closeness as `torch.allclose` defines it, `|a - e| ≤ atol + rtol·|e|`, with the
/// worst element, the max-abs error and the normalised mean squared error (ggml's NMSE,
/// Σ(a-e)²/Σe²) in the failure message.
func expectClose(
    _ actual: [Float], _ expected: [Float], atol: Float, rtol: Float, _ label: String,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(actual.count == expected.count, "\(label): \(actual.count) values, expected \(expected.count)", sourceLocation: sourceLocation)
    guard actual.count == expected.count else { return }
    var worst = -1
    var worstExcess: Float = 0
    var maxAbs: Float = 0
    var num = 0.0, den = 0.0
    for i in actual.indices {
        let a = actual[i], e = expected[i]
        if e.isInfinite || e.isNaN {
            if !(a == e || (a.isNaN && e.isNaN)) { worst = i; worstExcess = .infinity }
            continue
        }
        let d = abs(a - e)
        if !(d <= atol + rtol * abs(e)) && (d - atol - rtol * abs(e) > worstExcess || worst < 0 || d.isNaN) {
            worst = i
            worstExcess = d.isNaN ? .infinity : d - atol - rtol * abs(e)
        }
        if !d.isNaN { maxAbs = max(maxAbs, d) }
        num += Double(d) * Double(d)
        den += Double(e) * Double(e)
    }
    let nmse = den > 0 ? num / den : num
    #expect(worst < 0, "\(label): element \(worst) is \(worst >= 0 ? actual[worst] : 0), expected \(worst >= 0 ? expected[worst] : 0) (atol \(atol), rtol \(rtol)); max-abs \(maxAbs), NMSE \(nmse)", sourceLocation: sourceLocation)
}

/// Plain reference implementations: obvious loops in Double, nothing shared with the kernels.
enum Reference {
    /// c[i, j] = Σ_p a[i, p] · b[j, p] (b given as rows, like nn.Linear's weight).
    static func multiplyTransposed(_ a: [Float], _ b: [Float], m: Int, n: Int, k: Int) -> [Double] {
        var c = [Double](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var s = 0.0
                for p in 0..<k { s += Double(a[i * k + p]) * Double(b[j * k + p]) }
                c[i * n + j] = s
            }
        }
        return c
    }

    static func layerNorm(_ x: [Float], rows: Int, columns n: Int, gamma: [Float]?, beta: [Float]?, eps: Double) -> [Float] {
        var y = [Float](repeating: 0, count: x.count)
        for r in 0..<rows {
            let row = (0..<n).map { Double(x[r * n + $0]) }
            let mean = row.reduce(0, +) / Double(n)
            let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(n)
            for j in 0..<n {
                var v = (row[j] - mean) / (variance + eps).squareRoot()
                if let gamma { v *= Double(gamma[j]) }
                if let beta { v += Double(beta[j]) }
                y[r * n + j] = Float(v)
            }
        }
        return y
    }

    static func softmax(_ row: [Double]) -> [Double] {
        let m = row.max() ?? 0
        if m == -.infinity { return row.map { _ in 0 } }
        let e = row.map { Foundation.exp($0 - m) }
        let s = e.reduce(0, +)
        return e.map { $0 / s }
    }

    /// Multi-head attention on [T, D] queries and [S, D] keys/values, optional tril(S - T) mask.
    static func attention(q: [Float], k: [Float], v: [Float], t: Int, s: Int, d: Int, heads: Int, causal: Bool) -> [Float] {
        let hd = d / heads
        var out = [Float](repeating: 0, count: t * d)
        for h in 0..<heads {
            for i in 0..<t {
                var scores = [Double](repeating: 0, count: s)
                for j in 0..<s {
                    var dot = 0.0
                    for c in 0..<hd { dot += Double(q[i * d + h * hd + c]) * Double(k[j * d + h * hd + c]) }
                    scores[j] = causal && j > s - t + i ? -.infinity : dot / Double(hd).squareRoot()
                }
                let p = softmax(scores)
                for c in 0..<hd {
                    var acc = 0.0
                    for j in 0..<s { acc += p[j] * Double(v[j * d + h * hd + c]) }
                    out[i * d + h * hd + c] = Float(acc)
                }
            }
        }
        return out
    }

    /// Columns `range` of a row-major [rows, columns] array.
    static func columns(_ a: [Float], rows: Int, columns: Int, _ range: Range<Int>) -> [Float] {
        (0..<rows).flatMap { r in a[(r * columns + range.lowerBound)..<(r * columns + range.upperBound)] }
    }
}
