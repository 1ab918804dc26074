import Foundation
@testable import Kernels
import Testing

/// Tolerance for single element-wise ops (GELU, softmax): both sides are within a couple of ulps
/// of the true value (PyTorch's vectorised erf/tanh/exp, our erf approximation at ≤ 4.2e-7 and
/// libm), so atol = 2e-6 with rtol = 1e-6 — below one part in 10⁵ of the tolerance any model-level
/// parity test will use.
private let pointwiseAtol: Float = 2e-6
private let pointwiseRtol: Float = 1e-6
/// Tolerance for layer norm: a reduction over the row (see `productTolerance`), and the fixture's
/// rows have a mean of 40 next to a spread of 3, so `x - mean` loses ~4 bits before normalising.
private let normTolerance: Float = 1e-5

@Suite("LayerNorm, GELU, softmax, element-wise")
struct PointwiseTests {
    @Test("LayerNorm matches PyTorch: affine with eps 1e-5, plain with eps 1e-3", arguments: GEMMKernel.supported)
    func layerNormMatchesPyTorch(kernel: GEMMKernel) throws {
        let x = try Fixtures.tensor("ln_x", [6, 192])
        let gamma = try Fixtures.floats("ln_gamma"), beta = try Fixtures.floats("ln_beta")
        let y = Tensor(shape: [6, 192])
        gamma.withUnsafeBufferPointer { g in
            beta.withUnsafeBufferPointer { b in
                LayerNorm.apply(x.matrix.readOnly, gamma: g, beta: b, eps: 1e-5, into: y.matrix, kernel: kernel)
            }
        }
        expectClose(y.values, try Fixtures.floats("ln_y"), atol: normTolerance, rtol: normTolerance, "layer norm affine")

        LayerNorm.apply(x.matrix.readOnly, gamma: nil, beta: nil, eps: 1e-3, into: y.matrix, kernel: kernel)
        expectClose(y.values, try Fixtures.floats("ln_y_plain"), atol: normTolerance, rtol: normTolerance, "layer norm plain")
    }

    @Test("LayerNorm in place and on strided rows matches the Double reference", arguments: GEMMKernel.supported)
    func layerNormInPlaceAndStrided(kernel: GEMMKernel) {
        var random = SeededRandom(seed: 10)
        for n in [1, 7, 8, 15, 16, 17, 33, 192] {
            let rows = 5
            let values = random.floats(rows * n, scale: 4).map { $0 + 10 }
            let gamma = random.floats(n), beta = random.floats(n)
            let expected = Reference.layerNorm(values, rows: rows, columns: n, gamma: gamma, beta: beta, eps: 1e-5)

            let inPlace = Tensor(shape: [rows, n], values: values)
            gamma.withUnsafeBufferPointer { g in
                beta.withUnsafeBufferPointer { b in
                    LayerNorm.apply(inPlace.matrix.readOnly, gamma: g, beta: b, eps: 1e-5, into: inPlace.matrix, kernel: kernel)
                }
            }
            expectClose(inPlace.values, expected, atol: normTolerance, rtol: normTolerance, "in place n=\(n)")

            let wide = Tensor(shape: [rows, n + 5])
            for r in 0..<rows { for j in 0..<n { wide.storage[r * (n + 5) + 3 + j] = values[r * n + j] } }
            let view = wide.matrix.columns(3..<(3 + n))
            gamma.withUnsafeBufferPointer { g in
                beta.withUnsafeBufferPointer { b in
                    LayerNorm.apply(view.readOnly, gamma: g, beta: b, eps: 1e-5, into: view, kernel: kernel)
                }
            }
            expectClose(Reference.columns(wide.values, rows: rows, columns: n + 5, 3..<(3 + n)), expected,
                        atol: normTolerance, rtol: normTolerance, "strided n=\(n)")
        }
    }

    @Test("LayerNorm of a constant row is beta (variance 0 is guarded by eps)")
    func layerNormConstantRow() {
        let x = Tensor(shape: [1, 16], values: [Float](repeating: 3.5, count: 16))
        let beta = (0..<16).map { Float($0) }
        beta.withUnsafeBufferPointer { b in
            LayerNorm.apply(x.matrix.readOnly, gamma: nil, beta: b, eps: 1e-5, into: x.matrix)
        }
        #expect(x.values == beta)
    }

    @Test("GELU exact and tanh match PyTorch F.gelu on [-10, 10] and random values", arguments: [GELU.exact, .tanh])
    func geluMatchesPyTorch(kind: GELU) throws {
        let x = try Fixtures.floats("gelu_x")
        let expected = try Fixtures.floats(kind == .exact ? "gelu_exact" : "gelu_tanh")
        let t = Tensor(shape: [x.count], values: x)
        kind.apply(t.matrix)
        expectClose(t.values, expected, atol: pointwiseAtol, rtol: pointwiseRtol, "GELU \(kind) vectorised")
        expectClose(x.map { kind($0) }, expected, atol: pointwiseAtol, rtol: pointwiseRtol, "GELU \(kind) scalar")
    }

    @Test("GELU on a strided view leaves the other columns alone")
    func geluStrided() {
        let t = Tensor(shape: [3, 20], values: (0..<60).map { Float($0) / 10 - 3 })
        let before = t.values
        GELU.exact.apply(t.matrix.columns(2..<13))
        for r in 0..<3 {
            for j in 0..<20 {
                let v = before[r * 20 + j]
                let expected = (2..<13).contains(j) ? GELU.exact(v) : v
                #expect(t.values[r * 20 + j] == expected)
            }
        }
    }

    @Test("The vectorised erf stays within 4.5e-7 of the exact erf on [-6, 6]")
    func erfAccuracy() {
        var worst = 0.0
        var x: Float = -6
        while x <= 6 {
            let v = SIMD8<Float>((0..<8).map { x + Float($0) / 8192 })
            let e = GELU.erf(v)
            for lane in 0..<8 { worst = max(worst, abs(Double(e[lane]) - Foundation.erf(Double(v[lane])))) }
            x += 1.0 / 1024
        }
        #expect(worst <= 4.5e-7, "max |erf error| \(worst)")
    }

    @Test("The softmax's exp is within 2 ulp of the exact exp on [-87, 0], and 0 below", arguments: GEMMKernel.supported)
    func expAccuracy(kernel: GEMMKernel) {
        // 21 values a run (every tail length of the 4-, 8- and 16-wide kernels comes up), 8 runs per step.
        var inputs: [Float] = []
        var x: Float = -87
        while x <= 0 {
            inputs.append(contentsOf: (0..<21).map { x + Float($0) / 65536 })
            x += 1.0 / 64
        }
        var worstUlps: Float = 0
        for start in stride(from: 0, to: inputs.count, by: 21 * 8) {
            let run = Array(inputs[start..<min(start + 21 * 8 - 3, inputs.count)])
            for (value, e) in zip(run, Softmax.exp(run, kernel: kernel)) {
                let exact = Float(Foundation.exp(Double(value)))
                worstUlps = max(worstUlps, abs(e - exact) / exact.ulp)
            }
        }
        #expect(worstUlps <= 2, "max error \(worstUlps) ulp")
        let below = Softmax.exp([-.infinity, -1000, -88, -87.5, -90, -200, -1e30, -.infinity], kernel: kernel)
        #expect(below == [Float](repeating: 0, count: 8))
        #expect(Softmax.exp([Float](repeating: 0, count: 19), kernel: kernel) == [Float](repeating: 1, count: 19))
    }

    @Test("Softmax matches PyTorch: large logits, masked entries, one survivor", arguments: GEMMKernel.supported)
    func softmaxMatchesPyTorch(kernel: GEMMKernel) throws {
        let t = try Fixtures.tensor("softmax_x", [4, 37])
        Softmax.apply(t.matrix, kernel: kernel)
        expectClose(t.values, try Fixtures.floats("softmax_y"), atol: pointwiseAtol, rtol: pointwiseRtol, "softmax")
    }

    @Test("Softmax rows sum to 1; a fully masked row becomes zeros, not NaN", arguments: GEMMKernel.supported)
    func softmaxEdges(kernel: GEMMKernel) {
        var random = SeededRandom(seed: 11)
        let t = Tensor(shape: [3, 50], values: random.floats(150, scale: 30))
        for j in 0..<50 { t.storage[100 + j] = -.infinity }
        Softmax.apply(t.matrix, kernel: kernel)
        for r in 0..<2 {
            let sum = (0..<50).reduce(Float(0)) { $0 + t.values[r * 50 + $1] }
            #expect(abs(sum - 1) < 1e-5)
        }
        #expect(t.values[100..<150].allSatisfy { $0 == 0 })
    }

    @Test("Residual add, bias add, scale and copy on contiguous and strided views")
    func elementwise() {
        var random = SeededRandom(seed: 12)
        let x = random.tensor([4, 10]), y = random.tensor([4, 10])
        let xs = x.values, ys = y.values
        Elementwise.add(x.matrix.readOnly, to: y.matrix)
        #expect(y.values == zip(xs, ys).map { $0 + $1 })

        let wide = Tensor(shape: [4, 16])
        Elementwise.copy(x.matrix.readOnly, to: wide.matrix.columns(3..<13))
        #expect(Reference.columns(wide.values, rows: 4, columns: 16, 3..<13) == xs)
        Elementwise.add(x.matrix.readOnly, to: wide.matrix.columns(3..<13))
        #expect(Reference.columns(wide.values, rows: 4, columns: 16, 3..<13) == xs.map { $0 + $0 })
        #expect(Reference.columns(wide.values, rows: 4, columns: 16, 0..<3).allSatisfy { $0 == 0 })

        let bias = (0..<10).map { Float($0) }
        bias.withUnsafeBufferPointer { Elementwise.addRowVector($0.baseAddress!, to: x.matrix) }
        #expect(x.values == xs.enumerated().map { $0.element + Float($0.offset % 10) })
        Elementwise.scale(x.matrix, by: 2)
        #expect(x.values == xs.enumerated().map { 2 * ($0.element + Float($0.offset % 10)) })
    }
}
