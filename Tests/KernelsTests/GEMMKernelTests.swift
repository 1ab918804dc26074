import Foundation
import Kernels
import Testing

/// The engine's micro-kernels against the Double reference, on every kernel this CPU can run
/// (here: AVX-512, AVX2 and portable on an AVX-512 x86; NEON is tested under qemu by
/// scripts/test_neon.sh). Shapes cover one row (the decoder's gemv), rows and columns that are
/// not multiples of any micro-tile, k = 1 and k past the kernels' 256-deep blocks.
@Suite("GEMM kernels")
struct GEMMKernelTests {
    static let shapes: [(m: Int, n: Int, k: Int)] = [
        (1, 1, 1), (1, 99, 128), (1, 384, 128), (1, 128, 512), (2, 33, 1), (3, 17, 31), (7, 40, 300),
        (8, 32, 64), (9, 31, 257), (13, 70, 513), (51, 192, 768), (101, 576, 192), (129, 45, 20),
    ]

    /// float32 sums of k terms round by about √k·2⁻²⁴ of their size; 2e-5·√k keeps a wide margin.
    static func tolerance(_ k: Int) -> Float { 2e-5 * Float(max(k, 1)).squareRoot() }

    static func reference(
        _ x: Tensor, _ w: Tensor, bias: [Float]?, start: [Float]?, gelu: Bool, relu6: Bool = false, m: Int, n: Int, k: Int
    ) -> [Float] {
        let product = Reference.multiplyTransposed(x.values, w.values, m: m, n: n, k: k)
        return (0..<(m * n)).map { index in
            var value = product[index] + Double(bias?[index % n] ?? 0) + Double(start?[index] ?? 0)
            if gelu { value = 0.5 * value * (1 + erf(value / 2.0.squareRoot())) }
            if relu6 { value = min(max(value, 0), 6) }
            return Float(value)
        }
    }

    @Test("Packed linear: bias, residual accumulate, fused GELU and ReLU6, odd shapes", arguments: GEMMKernel.supported)
    func packedLinear(kernel: GEMMKernel) {
        var random = SeededRandom(seed: 11)
        var clampedAtSix = 0
        for (m, n, k) in Self.shapes {
            let x = random.tensor([m, k]), w = random.tensor([n, k])
            let bias = random.floats(n), start = random.floats(m * n)
            let layer = bias.withUnsafeBufferPointer { LinearWeights(weight: w.matrix.readOnly, bias: $0, kernel: kernel) }
            bias.withUnsafeBufferPointer { b in
                let plain = Tensor(shape: [m, n], values: [Float](repeating: .nan, count: m * n))
                Matmul.linear(x.matrix.readOnly, packed: layer.packed, bias: b, into: plain.matrix)
                expectClose(plain.values, Self.reference(x, w, bias: bias, start: nil, gelu: false, m: m, n: n, k: k),
                            atol: Self.tolerance(k), rtol: 1e-5, "\(kernel) linear \(m)x\(n)x\(k)")

                let residual = Tensor(shape: [m, n], values: start)
                Matmul.linear(x.matrix.readOnly, packed: layer.packed, bias: b, into: residual.matrix, accumulate: true)
                expectClose(residual.values, Self.reference(x, w, bias: bias, start: start, gelu: false, m: m, n: n, k: k),
                            atol: Self.tolerance(k), rtol: 1e-5, "\(kernel) accumulate \(m)x\(n)x\(k)")

                let activated = Tensor(shape: [m, n], values: [Float](repeating: .nan, count: m * n))
                Matmul.linear(x.matrix.readOnly, packed: layer.packed, bias: b, into: activated.matrix, activation: .gelu)
                expectClose(activated.values, Self.reference(x, w, bias: bias, start: nil, gelu: true, m: m, n: n, k: k),
                            atol: Self.tolerance(k), rtol: 1e-5, "\(kernel) GELU \(m)x\(n)x\(k)")

                let clamped = Tensor(shape: [m, n], values: [Float](repeating: .nan, count: m * n))
                layer.applyReLU6(x.matrix.readOnly, into: clamped.matrix)
                let expected = Self.reference(x, w, bias: bias, start: nil, gelu: false, relu6: true, m: m, n: n, k: k)
                expectClose(clamped.values, expected, atol: Self.tolerance(k), rtol: 1e-5, "\(kernel) ReLU6 \(m)x\(n)x\(k)")
                #expect(clamped.values.allSatisfy { (0...6).contains($0) }, "\(kernel) ReLU6 \(m)x\(n)x\(k) outside [0, 6]")
                clampedAtSix += expected.filter { $0 == 6 }.count
            }
            let unbiased = LinearWeights(weight: w.matrix.readOnly, bias: nil, kernel: kernel)
            let y = Tensor(shape: [m, n])
            unbiased.apply(x.matrix.readOnly, into: y.matrix)
            expectClose(y.values, Self.reference(x, w, bias: nil, start: nil, gelu: false, m: m, n: n, k: k),
                        atol: Self.tolerance(k), rtol: 1e-5, "\(kernel) no bias \(m)x\(n)x\(k)")
        }
        #expect(clampedAtSix > 0, "the longer rows' sums reach past 6, so ReLU6's upper bound is exercised")
    }

    @Test("A layer split by outputs on the column granule gives the same columns", arguments: GEMMKernel.supported)
    func outputSlices(kernel: GEMMKernel) {
        var random = SeededRandom(seed: 12)
        let (m, n, k) = (21, 150, 96)
        let x = random.tensor([m, k]), w = random.tensor([n, k])
        let bias = random.floats(n)
        let layer = bias.withUnsafeBufferPointer { LinearWeights(weight: w.matrix.readOnly, bias: $0, kernel: kernel) }
        let whole = Tensor(shape: [m, n]), parts = Tensor(shape: [m, n])
        layer.apply(x.matrix.readOnly, into: whole.matrix, activation: .exact)
        for lane in 0..<3 {
            let columns = (0..<n).split(lane: lane, of: 3, granule: LinearWeights.columnGranule)
            layer.outputs(columns).apply(x.matrix.readOnly, into: parts.matrix.columns(columns), activation: .exact)
        }
        #expect(whole.values == parts.values)
    }

    @Test("Strided, transposed and row-major operands (attention's Q·Kᵀ and P·V) with alpha and beta", arguments: GEMMKernel.supported)
    func unpackedOperands(kernel: GEMMKernel) {
        var random = SeededRandom(seed: 13)
        for (m, n, k) in Self.shapes {
            // Operands as column slices of wider buffers, as attention reads one head of a fused qkv.
            let wideA = random.tensor([m, k + 5]), wideB = random.tensor([n, k + 3])
            let a = wideA.matrix.readOnly.columns(2..<(2 + k)), b = wideB.matrix.readOnly.columns(1..<(1 + k))
            let aValues = (0..<m).flatMap { r in (0..<k).map { a.row(r)[$0] } }
            let bValues = (0..<n).flatMap { r in (0..<k).map { b.row(r)[$0] } }
            let product = Reference.multiplyTransposed(aValues, bValues, m: m, n: n, k: k)
            let start = random.floats(m * n)
            let c = Tensor(shape: [m, n + 4], values: [Float](repeating: .nan, count: m * (n + 4)))
            let cView = c.matrix.columns(0..<n)
            Matmul.multiplyTransposed(a, b, into: cView, alpha: 0.25, path: .kernel(kernel))
            let got = (0..<m).flatMap { r in (0..<n).map { cView.row(r)[$0] } }
            expectClose(got, product.map { Float(0.25 * $0) }, atol: Self.tolerance(k), rtol: 1e-5, "\(kernel) a·bᵀ \(m)x\(n)x\(k)")

            // The same product with b as [k, n] rows, accumulated with beta 0.5.
            let bRows = Tensor(shape: [k, n + 2])
            for p in 0..<k { for j in 0..<n { bRows.matrix.row(p)[j] = bValues[j * k + p] } }
            let d = Tensor(shape: [m, n], values: start)
            Matmul.multiply(a, bRows.matrix.readOnly.columns(0..<n), into: d.matrix, beta: 0.5, path: .kernel(kernel))
            expectClose(d.values, zip(product, start).map { Float($0 + 0.5 * Double($1)) },
                        atol: Self.tolerance(k), rtol: 1e-5, "\(kernel) a·b \(m)x\(n)x\(k)")
        }
    }

    @Test("k = 0: the product is empty, only beta·c and the bias remain", arguments: GEMMKernel.supported)
    func emptyDepth(kernel: GEMMKernel) {
        let a = Tensor(shape: [3, 0]), w = Tensor(shape: [5, 0])
        let bias: [Float] = [1, 2, 3, 4, 5]
        let layer = bias.withUnsafeBufferPointer { LinearWeights(weight: w.matrix.readOnly, bias: $0, kernel: kernel) }
        let y = Tensor(shape: [3, 5], values: [Float](repeating: .nan, count: 15))
        layer.apply(a.matrix.readOnly, into: y.matrix)
        #expect(y.values == bias + bias + bias)
    }

    @Test("The FMA peak is measured for every kernel this CPU runs")
    func peaks() {
        let peaks = GEMMKernel.supported.map { ($0, $0.peakGflops(repeats: 3)) }
        for (kernel, peak) in peaks { #expect(peak > 0.5, "\(kernel): \(peak) GFLOP/s") }
    }

    @Test("OpenBLAS core names are ranked by the vectors their kernels use")
    func blasCores() {
        #expect(BLASCore(name: "Prescott", cpu: .avx512).isMismatch)
        #expect(BLASCore(name: "Haswell", cpu: .avx512).isMismatch)
        #expect(!BLASCore(name: "SkylakeX", cpu: .avx512).isMismatch)
        #expect(!BLASCore(name: "Zen", cpu: .avx2).isMismatch)
        #expect(BLASCore(name: "Nehalem", cpu: .avx2).isMismatch)
        #expect(!BLASCore(name: "NeoverseN1", cpu: .neon).isMismatch)
        #expect(BLASCore(name: "Prescott", cpu: .avx512).summary.contains("below"))
        #expect(!BLASCore.current.name.isEmpty)
    }
}

private extension Range<Int> {
    /// The share `Lane.part(_:granule:)` gives lane `lane` of `count`.
    func split(lane: Int, of count: Int, granule: Int) -> Range<Int> {
        let total = self.count
        let chunks = (total + granule - 1) / granule
        let base = chunks / count, extra = chunks % count
        let start = lane * base + Swift.min(lane, extra)
        let end = start + base + (lane < extra ? 1 : 0)
        return Swift.min(start * granule, total)..<Swift.min(end * granule, total)
    }
}
