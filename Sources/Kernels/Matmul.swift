import CKernels
import COpenBLAS

/// Matrix products. Every product of the model runs on the engine's own kernels (CKernels, the
/// instruction set chosen from the CPU's features: `GEMMKernel.selected`): weights through
/// `linear(_:packed:...)` on panels packed at load, attention's `Q·Kᵀ` and `P·V` through
/// `multiplyTransposed` and `multiply` on the operands as they lie.
///
/// OpenBLAS stays reachable as `.blas`, for tests and for the benchmark's reference figure only:
/// Debian 12's build chooses its kernels from a CPU table and falls back to generic SSE3 code on
/// CPUs it does not know (a 6× loss, measured on an AVX-512 Xeon), and its threaded calls allocate.
public enum Matmul {
    /// Which implementation computes a product.
    public enum Path: Sendable, Equatable, CustomStringConvertible {
        /// The engine's micro-kernels on one instruction set.
        case kernel(GEMMKernel)
        /// `cblas_sgemm`.
        case blas
        /// The Swift SIMD loops (baseline SSE2 on x86), kept as a second reference for tests.
        case swift

        public var description: String {
            switch self {
            case .kernel(let kernel): "kernel(\(kernel.rawValue))"
            case .blas: "blas"
            case .swift: "swift"
            }
        }
    }

    /// The path automatic dispatch takes: the selected kernel, at every size. Measured on a
    /// 2-vCPU AVX-512 Xeon: the kernels' fixed cost (one C call, no packing for row-major
    /// operands) is below the Swift loops' from the decoder's 1x16x16 products up.
    public static var automaticPath: Path { .kernel(.selected) }

    /// `c = alpha · a · bᵀ + beta · c`, with `a` as [m, k] and `b` as [n, k] — the layout of a
    /// PyTorch `nn.Linear` weight and of the keys in `Q·Kᵀ`. When `beta` is 0, `c` is not read
    /// (it may hold garbage or NaN). `c` must not overlap `a` or `b`. `path` forces one
    /// implementation, for tests and benchmarks.
    public static func multiplyTransposed(
        _ a: MatrixRef, _ b: MatrixRef, into c: MutableMatrixRef,
        alpha: Float = 1, beta: Float = 0, path: Path? = nil
    ) {
        precondition(a.columns == b.columns, "Matmul.multiplyTransposed: inner sizes differ (a is \(a.rows)x\(a.columns), b is \(b.rows)x\(b.columns))")
        precondition(c.rows == a.rows && c.columns == b.rows, "Matmul.multiplyTransposed: c is \(c.rows)x\(c.columns), expected \(a.rows)x\(b.rows)")
        let m = a.rows, n = b.rows, k = a.columns
        if m == 0 || n == 0 { return }
        switch path ?? automaticPath {
        case .kernel(let kernel):
            run(kernel, a, b.base, ldb: b.rowStride, layout: LTTW_B_TRANSPOSED, n: n, c, alpha: alpha, beta: beta, bias: nil, activation: .none)
        case .blas:
            cblas_sgemm(
                CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(n), Int32(k),
                alpha, a.base, Int32(max(a.rowStride, 1)), b.base, Int32(max(b.rowStride, 1)),
                beta, c.base, Int32(max(c.rowStride, 1)))
        case .swift:
            SmallProducts.multiplyTransposed(a, b, into: c, alpha: alpha, beta: beta)
        }
    }

    /// `c = alpha · a · b + beta · c`, with `a` as [m, k] and `b` as [k, n] — the `P·V` of
    /// attention. Same rules as `multiplyTransposed`.
    public static func multiply(
        _ a: MatrixRef, _ b: MatrixRef, into c: MutableMatrixRef,
        alpha: Float = 1, beta: Float = 0, path: Path? = nil
    ) {
        precondition(a.columns == b.rows, "Matmul.multiply: inner sizes differ (a is \(a.rows)x\(a.columns), b is \(b.rows)x\(b.columns))")
        precondition(c.rows == a.rows && c.columns == b.columns, "Matmul.multiply: c is \(c.rows)x\(c.columns), expected \(a.rows)x\(b.columns)")
        let m = a.rows, n = b.columns, k = a.columns
        if m == 0 || n == 0 { return }
        switch path ?? automaticPath {
        case .kernel(let kernel):
            run(kernel, a, b.base, ldb: b.rowStride, layout: LTTW_B_ROWS, n: n, c, alpha: alpha, beta: beta, bias: nil, activation: .none)
        case .blas:
            cblas_sgemm(
                CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k),
                alpha, a.base, Int32(max(a.rowStride, 1)), b.base, Int32(max(b.rowStride, 1)),
                beta, c.base, Int32(max(c.rowStride, 1)))
        case .swift:
            SmallProducts.multiply(a, b, into: c, alpha: alpha, beta: beta)
        }
    }

    /// `y = x · Wᵀ + bias` (or `y += x · Wᵀ + bias` with `accumulate`, which fuses a residual
    /// connection into the projection): `x` is [rows, in], `weight` is [out, in] as
    /// `nn.Linear` stores it, `bias` has `out` values or is nil, `y` is [rows, out] and must not
    /// overlap `x`. With one row this is the decoder's matrix-vector product.
    public static func linear(
        _ x: MatrixRef, weight: MatrixRef, bias: UnsafeBufferPointer<Float>?,
        into y: MutableMatrixRef, accumulate: Bool = false, path: Path? = nil
    ) {
        guard let bias, let b = bias.baseAddress else {
            multiplyTransposed(x, weight, into: y, alpha: 1, beta: accumulate ? 1 : 0, path: path)
            return
        }
        precondition(bias.count == weight.rows, "Matmul.linear: bias has \(bias.count) values for \(weight.rows) outputs")
        precondition(y.columns == weight.rows, "Matmul.linear: y has \(y.columns) columns for \(weight.rows) outputs")
        if case .kernel(let kernel) = path ?? automaticPath {
            precondition(x.columns == weight.columns && y.rows == x.rows, "Matmul.linear: x is \(x.rows)x\(x.columns), weight \(weight.rows)x\(weight.columns), y \(y.rows)x\(y.columns)")
            if y.rows == 0 || y.columns == 0 { return }
            run(kernel, x, weight.base, ldb: weight.rowStride, layout: LTTW_B_TRANSPOSED, n: weight.rows, y,
                alpha: 1, beta: accumulate ? 1 : 0, bias: b, activation: .none)
            return
        }
        // The bias goes in first and the product is accumulated onto it, as PyTorch's addmm does:
        // one pass over y fewer than zeroing it, multiplying, then adding the bias.
        if accumulate {
            Elementwise.addRowVector(b, to: y)
        } else {
            for r in 0..<y.rows { y.row(r).update(from: b, count: y.columns) }
        }
        multiplyTransposed(x, weight, into: y, alpha: 1, beta: 1, path: path)
    }

    /// What a product applies to its result, last: fused into the kernels' store.
    public enum Activation: Sendable, Equatable {
        case none
        /// The exact (erf) GELU, as PyTorch's `nn.GELU()`.
        case gelu
        /// `min(max(x, 0), 6)`, as PyTorch's `nn.ReLU6` (MobileNetV2's stem and expansions).
        case relu6

        var c: lttw_activation {
            switch self {
            case .none: LTTW_ACTIVATION_NONE
            case .gelu: LTTW_ACTIVATION_GELU
            case .relu6: LTTW_ACTIVATION_RELU6
            }
        }
    }

    /// `y = x · Wᵀ + bias`, `y += x · Wᵀ + bias` with `accumulate`, and `activation(x · Wᵀ + bias)`
    /// — the model's layers, on weights packed at load. The bias, the residual and the
    /// activation are applied to each tile while it is still in registers, so none of them costs
    /// a pass over `y`. `x` is [rows, in], `y` [rows, out] and must not overlap `x`; the product
    /// runs on the kernel the weights were packed for.
    public static func linear(
        _ x: MatrixRef, packed weight: PackedMatrix, bias: UnsafeBufferPointer<Float>?,
        into y: MutableMatrixRef, accumulate: Bool = false, activation: Activation = .none
    ) {
        precondition(!accumulate || activation == .none, "Matmul.linear: an activation applies to a layer's own output, not to a residual sum")
        precondition(x.columns == weight.inputs, "Matmul.linear: x has \(x.columns) columns for \(weight.inputs) inputs")
        precondition(y.rows == x.rows && y.columns == weight.outputs, "Matmul.linear: y is \(y.rows)x\(y.columns), expected \(x.rows)x\(weight.outputs)")
        precondition(bias.map { $0.count == weight.outputs } ?? true, "Matmul.linear: bias has \(bias?.count ?? 0) values for \(weight.outputs) outputs")
        if y.rows == 0 || y.columns == 0 { return }
        run(weight.kernel, x, weight.base, ldb: 0, layout: LTTW_B_PACKED, n: weight.outputs, y,
            alpha: 1, beta: accumulate ? 1 : 0, bias: bias?.baseAddress, activation: activation)
    }

    /// One product on a kernel; the C side needs no allocation and no threads.
    private static func run(
        _ kernel: GEMMKernel, _ a: MatrixRef, _ b: UnsafePointer<Float>, ldb: Int, layout: lttw_b_layout, n: Int,
        _ c: MutableMatrixRef, alpha: Float, beta: Float, bias: UnsafePointer<Float>?, activation: Activation
    ) {
        precondition(kernel.isSupported, "Matmul: this CPU cannot run the \(kernel) kernel")
        var product = lttw_gemm(
            m: a.rows, n: n, k: a.columns, a: a.base, lda: a.rowStride, b: b, ldb: ldb, b_layout: layout,
            c: c.base, ldc: c.rowStride, alpha: alpha, beta: beta, bias: bias, activation: activation.c)
        lttw_sgemm(kernel.c, &product)
    }
}

/// The Swift side of `Matmul`: register-blocked loops over contiguous rows, 8-wide SIMD.
///
/// Once the decoder's path for tiny products; the kernels now serve every size, and these loops
/// run only when a caller forces `.swift` (tests compare the kernels with them). Their SIMD
/// helpers (`load`, `store`, `clamp`) also serve the Swift GELU and the element-wise operations.
enum SmallProducts {
    typealias V = SIMD8<Float>

    @inline(__always)
    static func load(_ p: UnsafePointer<Float>) -> V {
        UnsafeRawPointer(p).loadUnaligned(as: V.self)
    }

    @inline(__always)
    static func store(_ v: V, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self)
    }

    /// Lane-wise maximum. The standard library's `pointwiseMax` is a generic lane-by-lane loop
    /// that stays an out-of-line call; a compare and select compiles to a few vector instructions.
    /// Concrete on purpose: in generic code `.<` resolves to the protocol's lane loop too.
    @inline(__always)
    static func maximum(_ a: V, _ b: V) -> V {
        a.replacing(with: b, where: a .< b)
    }

    /// `x` clamped lane-wise to `[low, high]`.
    @inline(__always)
    static func clamp(_ x: V, _ low: V, _ high: V) -> V {
        let raised = x.replacing(with: low, where: x .< low)
        return raised.replacing(with: high, where: high .< raised)
    }

    @inline(__always)
    static func finish(_ sum: Float, _ c: UnsafeMutablePointer<Float>, alpha: Float, beta: Float) {
        c.pointee = beta == 0 ? alpha * sum : alpha * sum + beta * c.pointee
    }

    /// Dot products of one row `x` with four rows of `w`, sharing each load of `x`.
    @inline(__always)
    static func dot4(
        _ x: UnsafePointer<Float>, _ w0: UnsafePointer<Float>, _ w1: UnsafePointer<Float>,
        _ w2: UnsafePointer<Float>, _ w3: UnsafePointer<Float>, _ k: Int
    ) -> (Float, Float, Float, Float) {
        var a0 = V(), a1 = V(), a2 = V(), a3 = V()
        var i = 0
        while i + 8 <= k {
            let xv = load(x + i)
            a0 += xv * load(w0 + i)
            a1 += xv * load(w1 + i)
            a2 += xv * load(w2 + i)
            a3 += xv * load(w3 + i)
            i += 8
        }
        var s0 = a0.sum(), s1 = a1.sum(), s2 = a2.sum(), s3 = a3.sum()
        while i < k {
            let xs = x[i]
            s0 += xs * w0[i]
            s1 += xs * w1[i]
            s2 += xs * w2[i]
            s3 += xs * w3[i]
            i += 1
        }
        return (s0, s1, s2, s3)
    }

    /// The dot product of two contiguous runs of `k` values, two accumulators deep.
    @inline(__always)
    static func dot(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ k: Int) -> Float {
        var a0 = V(), a1 = V()
        var i = 0
        while i + 16 <= k {
            a0 += load(x + i) * load(w + i)
            a1 += load(x + i + 8) * load(w + i + 8)
            i += 16
        }
        if i + 8 <= k {
            a0 += load(x + i) * load(w + i)
            i += 8
        }
        var s = (a0 + a1).sum()
        while i < k {
            s += x[i] * w[i]
            i += 1
        }
        return s
    }

    /// `c = alpha · a · bᵀ + beta · c`: every output is a dot product of two contiguous rows;
    /// four rows of `b` at a time, so each load of an `a` row feeds four products.

    static func multiplyTransposed(_ a: MatrixRef, _ b: MatrixRef, into c: MutableMatrixRef, alpha: Float, beta: Float) {
        let m = a.rows, n = b.rows, k = a.columns
        for i in 0..<m {
            let x = a.row(i)
            let out = c.row(i)
            var j = 0
            while j + 4 <= n {
                let (s0, s1, s2, s3) = dot4(x, b.row(j), b.row(j + 1), b.row(j + 2), b.row(j + 3), k)
                finish(s0, out + j, alpha: alpha, beta: beta)
                finish(s1, out + j + 1, alpha: alpha, beta: beta)
                finish(s2, out + j + 2, alpha: alpha, beta: beta)
                finish(s3, out + j + 3, alpha: alpha, beta: beta)
                j += 4
            }
            while j < n {
                finish(dot(x, b.row(j), k), out + j, alpha: alpha, beta: beta)
                j += 1
            }
        }
    }

    /// `c = alpha · a · b + beta · c`: each output row is a sum of `b`'s rows weighted by one row of
    /// `a` (an axpy over contiguous rows), so `b` is read row by row and never transposed.

    static func multiply(_ a: MatrixRef, _ b: MatrixRef, into c: MutableMatrixRef, alpha: Float, beta: Float) {
        let m = a.rows, n = b.columns, k = a.columns
        for i in 0..<m {
            let out = c.row(i)
            let weights = a.row(i)
            if beta == 0 {
                out.update(repeating: 0, count: n)
            } else if beta != 1 {
                for j in 0..<n { out[j] *= beta }
            }
            var p = 0
            // Two rows of b per pass halve the loads and stores of the output row.
            while p + 2 <= k {
                let w0 = alpha * weights[p], w1 = alpha * weights[p + 1]
                let r0 = b.row(p), r1 = b.row(p + 1)
                let v0 = V(repeating: w0), v1 = V(repeating: w1)
                var j = 0
                while j + 8 <= n {
                    store(load(out + j) + v0 * load(r0 + j) + v1 * load(r1 + j), out + j)
                    j += 8
                }
                while j < n {
                    out[j] += w0 * r0[j] + w1 * r1[j]
                    j += 1
                }
                p += 2
            }
            if p < k {
                let w0 = alpha * weights[p]
                let r0 = b.row(p)
                let v0 = V(repeating: w0)
                var j = 0
                while j + 8 <= n {
                    store(load(out + j) + v0 * load(r0 + j), out + j)
                    j += 8
                }
                while j < n {
                    out[j] += w0 * r0[j]
                    j += 1
                }
            }
        }
    }
}
