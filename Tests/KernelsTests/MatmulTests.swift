import Kernels
import Testing

/// Tolerance for products: float32 sums of up to a few hundred O(1) terms carry rounding of about
/// √k·2⁻²⁴ relative to the terms (~1e-6), and BLAS, the Swift loops and PyTorch sum in different
/// orders; atol = rtol = 1e-5 leaves a 10× margin and still catches any indexing mistake.
private let productTolerance: Float = 1e-5

@Suite("Matmul")
struct MatmulTests {
    /// Every implementation this CPU can run: the Swift loops, OpenBLAS, and each kernel.
    static let paths: [Matmul.Path] = [.swift, .blas] + GEMMKernel.supported.map { .kernel($0) }

    static let shapes: [(m: Int, n: Int, k: Int)] = [
        (1, 1, 1), (1, 7, 9), (1, 76, 100), (3, 5, 17), (5, 33, 65), (17, 4, 8), (64, 64, 64), (101, 40, 96),
    ]

    @Test("a·bᵀ matches the Double reference on every path, odd sizes included", arguments: MatmulTests.paths)
    func multiplyTransposedMatchesReference(path: Matmul.Path) {
        var random = SeededRandom(seed: 1)
        for (m, n, k) in Self.shapes {
            let a = random.tensor([m, k]), b = random.tensor([n, k])
            let c = Tensor(shape: [m, n])
            Matmul.multiplyTransposed(a.matrix.readOnly, b.matrix.readOnly, into: c.matrix, path: path)
            let expected = Reference.multiplyTransposed(a.values, b.values, m: m, n: n, k: k).map { Float($0) }
            expectClose(c.values, expected, atol: productTolerance, rtol: productTolerance, "\(path) \(m)x\(n)x\(k)")
        }
    }

    @Test("a·b matches the Double reference on every path", arguments: MatmulTests.paths)
    func multiplyMatchesReference(path: Matmul.Path) {
        var random = SeededRandom(seed: 2)
        for (m, n, k) in Self.shapes {
            let a = random.tensor([m, k]), b = random.tensor([k, n])
            // Reference wants b as rows of the transposed matrix.
            var bt = [Float](repeating: 0, count: n * k)
            for p in 0..<k { for j in 0..<n { bt[j * k + p] = b.values[p * n + j] } }
            let c = Tensor(shape: [m, n])
            Matmul.multiply(a.matrix.readOnly, b.matrix.readOnly, into: c.matrix, path: path)
            let expected = Reference.multiplyTransposed(a.values, bt, m: m, n: n, k: k).map { Float($0) }
            expectClose(c.values, expected, atol: productTolerance, rtol: productTolerance, "\(path) \(m)x\(n)x\(k)")
        }
    }

    @Test("alpha and beta: beta 0 ignores NaN already in c, beta 1 accumulates", arguments: MatmulTests.paths)
    func alphaBeta(path: Matmul.Path) {
        var random = SeededRandom(seed: 3)
        let (m, n, k) = (6, 10, 12)
        let a = random.tensor([m, k]), b = random.tensor([n, k])
        let product = Reference.multiplyTransposed(a.values, b.values, m: m, n: n, k: k)

        let c = Tensor(shape: [m, n], values: [Float](repeating: .nan, count: m * n))
        Matmul.multiplyTransposed(a.matrix.readOnly, b.matrix.readOnly, into: c.matrix, alpha: 0.5, beta: 0, path: path)
        expectClose(c.values, product.map { Float(0.5 * $0) }, atol: productTolerance, rtol: productTolerance, "beta 0")

        let start = random.floats(m * n)
        let d = Tensor(shape: [m, n], values: start)
        Matmul.multiplyTransposed(a.matrix.readOnly, b.matrix.readOnly, into: d.matrix, alpha: 2, beta: 1, path: path)
        expectClose(d.values, zip(product, start).map { Float(2 * $0 + Double($1)) }, atol: productTolerance, rtol: productTolerance, "beta 1")

        let e = Tensor(shape: [m, n], values: [Float](repeating: .nan, count: m * n))
        let bRows = Tensor(shape: [k, n], values: (0..<(k * n)).map { b.values[($0 % n) * k + $0 / n] })
        Matmul.multiply(a.matrix.readOnly, bRows.matrix.readOnly, into: e.matrix, alpha: 0.5, beta: 0, path: path)
        expectClose(e.values, product.map { Float(0.5 * $0) }, atol: productTolerance, rtol: productTolerance, "multiply beta 0")
    }

    @Test("Strided views: column slices of wider buffers in and out", arguments: MatmulTests.paths)
    func stridedViews(path: Matmul.Path) {
        var random = SeededRandom(seed: 4)
        let (m, n, k) = (9, 12, 20)
        let wideA = random.tensor([m, 3 * k]), wideB = random.tensor([n, 2 * k])
        let wideC = Tensor(shape: [m, 2 * n], values: [Float](repeating: 7, count: 2 * m * n))
        let a = wideA.matrix.readOnly.columns(k..<(2 * k)), b = wideB.matrix.readOnly.columns(k..<(2 * k))
        Matmul.multiplyTransposed(a, b, into: wideC.matrix.columns(n..<(2 * n)), path: path)
        let expected = Reference.multiplyTransposed(
            Reference.columns(wideA.values, rows: m, columns: 3 * k, k..<(2 * k)),
            Reference.columns(wideB.values, rows: n, columns: 2 * k, k..<(2 * k)), m: m, n: n, k: k).map { Float($0) }
        expectClose(Reference.columns(wideC.values, rows: m, columns: 2 * n, n..<(2 * n)), expected,
                    atol: productTolerance, rtol: productTolerance, "strided product")
        #expect(Reference.columns(wideC.values, rows: m, columns: 2 * n, 0..<n).allSatisfy { $0 == 7 }, "columns outside the view were written")
    }

    @Test("linear matches PyTorch nn.Linear (fixture), batch and single row, every path", arguments: MatmulTests.paths)
    func linearMatchesPyTorch(path: Matmul.Path) throws {
        let w = try Fixtures.tensor("linear_w", [76, 100])
        let b = try Fixtures.floats("linear_b")
        for (xName, yName, rows) in [("linear_x", "linear_y", 7), ("linear_xv", "linear_yv", 1)] {
            let x = try Fixtures.tensor(xName, [rows, 100])
            let y = Tensor(shape: [rows, 76])
            b.withUnsafeBufferPointer { bias in
                Matmul.linear(x.matrix.readOnly, weight: w.matrix.readOnly, bias: bias, into: y.matrix, path: path)
            }
            expectClose(y.values, try Fixtures.floats(yName), atol: productTolerance, rtol: productTolerance, "\(path) \(xName)")
        }
    }

    @Test("linear with accumulate adds the projection to a residual stream")
    func linearAccumulates() throws {
        let w = try Fixtures.tensor("linear_w", [76, 100])
        let b = try Fixtures.floats("linear_b")
        let x = try Fixtures.tensor("linear_x", [7, 100])
        var random = SeededRandom(seed: 5)
        let residual = random.floats(7 * 76)
        let y = Tensor(shape: [7, 76], values: residual)
        b.withUnsafeBufferPointer { bias in
            Matmul.linear(x.matrix.readOnly, weight: w.matrix.readOnly, bias: bias, into: y.matrix, accumulate: true)
        }
        let expected = zip(try Fixtures.floats("linear_y"), residual).map { $0 + $1 }
        expectClose(y.values, expected, atol: productTolerance, rtol: productTolerance, "residual linear")
    }

    @Test("Dispatch: every product on the kernel chosen from the CPU's features")
    func dispatch() {
        #expect(Matmul.automaticPath == .kernel(GEMMKernel.selected))
        #expect(GEMMKernel.selected.isSupported)
        #expect(GEMMKernel.supported.first == GEMMKernel.selected)
        #expect(GEMMKernel.supported.contains(.portable))
    }

    @Test("Empty products leave c alone")
    func emptyProducts() {
        let a = Tensor(shape: [0, 4]), b = Tensor(shape: [3, 4]), c = Tensor(shape: [0, 3])
        Matmul.multiplyTransposed(a.matrix.readOnly, b.matrix.readOnly, into: c.matrix)
        let k0a = Tensor(shape: [2, 0]), k0b = Tensor(shape: [3, 0])
        let z = Tensor(shape: [2, 3], values: [Float](repeating: .nan, count: 6))
        Matmul.multiplyTransposed(k0a.matrix.readOnly, k0b.matrix.readOnly, into: z.matrix, path: .swift)
        #expect(z.values == [Float](repeating: 0, count: 6))
    }
}
