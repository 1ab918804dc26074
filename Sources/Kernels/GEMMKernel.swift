import CKernels

/// The instruction set the matrix products run on: one micro-kernel per set, in CKernels.
///
/// The engine picks the fastest one this CPU supports, from the CPU's own feature bits (cpuid and
/// xgetbv on x86, HWCAP on Arm), once, at first use. Nothing reads the environment: a board runs
/// at its CPU's speed without anyone setting a variable, which is what OpenBLAS's own detection
/// failed to give (Debian 12's 0.3.21 falls back to its generic SSE3 kernels on CPUs it does not
/// know).
public enum GEMMKernel: String, Sendable, CaseIterable, CustomStringConvertible {
    /// 8 rows x 32 columns on zmm registers.
    case avx512
    /// 6 rows x 16 columns on ymm registers with FMA.
    case avx2
    /// 8 rows x 8 columns on AArch64's q registers (NEON is baseline there).
    case neon
    /// Plain C, 4 rows x 8 columns, vectorised by the compiler for the build's baseline.
    case portable

    /// The fastest kernel this CPU runs; every model product uses it.
    public static let selected: GEMMKernel = GEMMKernel(lttw_kernel_best())

    /// The kernels this CPU can run, fastest first (tests run each of them).
    public static var supported: [GEMMKernel] { allCases.filter(\.isSupported) }

    /// Whether this CPU and its operating system can run the kernel. Asked of the CPU once:
    /// cpuid traps to the hypervisor on virtual machines, too slow for every product.
    public var isSupported: Bool { Self.supportedMask & (1 << Int(c.rawValue)) != 0 }

    private static let supportedMask: Int = allCases.reduce(0) { mask, kernel in
        lttw_kernel_supported(kernel.c) != 0 ? mask | (1 << Int(kernel.c.rawValue)) : mask
    }

    /// Output columns per packed weight panel (the micro-kernel's width).
    public var panelWidth: Int { lttw_panel_width(c) }

    public var description: String {
        switch self {
        case .avx512: "AVX-512"
        case .avx2: "AVX2+FMA"
        case .neon: "NEON"
        case .portable: "portable C"
        }
    }

    var c: lttw_kernel {
        switch self {
        case .avx512: LTTW_KERNEL_AVX512
        case .avx2: LTTW_KERNEL_AVX2
        case .neon: LTTW_KERNEL_NEON
        case .portable: LTTW_KERNEL_PORTABLE
        }
    }

    init(_ kernel: lttw_kernel) {
        switch kernel {
        case LTTW_KERNEL_AVX512: self = .avx512
        case LTTW_KERNEL_AVX2: self = .avx2
        case LTTW_KERNEL_NEON: self = .neon
        default: self = .portable
        }
    }

    /// The single-precision multiply-add peak of one thread on this kernel's widest vectors, in
    /// GFLOP/s: a register-only loop of independent FMAs (no memory traffic), best of `repeats`
    /// runs of about 10 ms — the ceiling any product on this kernel can approach.
    public func peakGflops(repeats: Int = 10) -> Double {
        precondition(isSupported, "GEMMKernel.peakGflops: this CPU cannot run the \(self) kernel")
        let clock = ContinuousClock()
        var iterations = 1 << 16
        var best = 0.0
        for _ in 0..<repeats {
            let start = clock.now
            let flops = lttw_fma_loop(c, iterations)
            let elapsed = clock.now - start
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            best = max(best, flops / seconds / 1e9)
            // Aim each run at ~10 ms, whatever the CPU's speed.
            if seconds < 0.005 { iterations *= 2 }
        }
        return best
    }
}
