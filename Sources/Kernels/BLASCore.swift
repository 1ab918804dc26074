import COpenBLAS

/// Which kernels the linked OpenBLAS chose for this CPU, and whether they fall short of what the
/// CPU can run. Debian 12's OpenBLAS 0.3.21 picks its core from a table of known CPUs and drops
/// to generic SSE3 ("Prescott") on newer ones — about 6× slower on an AVX-512 Xeon — without a
/// word. The model's products no longer go through OpenBLAS, so a mismatch costs the engine
/// nothing; `listen model info`, `listen bench` and assistd's `/status` still say so, because the
/// bench's reference sgemm (and any program linking the same library) runs at that speed.
public struct BLASCore: Sendable, Equatable {
    /// `openblas_get_corename()`, e.g. "Prescott", "Haswell", "SkylakeX", "NeoverseN1".
    public let name: String
    /// The instruction set the core's kernels use, in the engine's terms.
    public let instructionSet: GEMMKernel
    /// The instruction set the engine's kernels use on this CPU.
    public let cpu: GEMMKernel

    /// The linked library's core on this machine, asked once.
    public static let current = BLASCore(name: String(cString: openblas_get_corename()), cpu: .selected)

    public init(name: String, cpu: GEMMKernel) {
        self.name = name
        self.cpu = cpu
        instructionSet = Self.instructionSet(ofCore: name)
    }

    /// True when OpenBLAS runs narrower vectors than the CPU has (e.g. Prescott on AVX-512).
    public var isMismatch: Bool { Self.rank(instructionSet) < Self.rank(cpu) }

    /// One line for people: the core, and what a mismatch means.
    public var summary: String {
        isMismatch
            ? "OpenBLAS core \(name) (\(instructionSet)) is below this CPU's \(cpu): OpenBLAS runs slow here; the model does not use it, only the bench's reference sgemm"
            : "OpenBLAS core \(name) (\(instructionSet)) matches this CPU; the model does not use it, only the bench's reference sgemm"
    }

    /// OpenBLAS's x86 core names by the widest vectors their sgemm kernels use (kernel/x86_64/
    /// KERNEL.*); Arm cores all have NEON. Anything else on x86 (Prescott, Core2, Nehalem,
    /// Sandybridge without FMA, Atom, ...) is counted as the portable level.
    static func instructionSet(ofCore name: String) -> GEMMKernel {
        let core = name.lowercased()
        if ["skylakex", "cooperlake", "sapphirerapids"].contains(where: core.contains) { return .avx512 }
        if ["haswell", "zen", "skylake", "excavator", "steamroller"].contains(where: core.contains) { return .avx2 }
        if ["armv8", "cortex", "neoverse", "thunderx", "falkor", "tsv110", "emag", "a64fx", "vortex", "ampere"]
            .contains(where: core.contains) { return .neon }
        return .portable
    }

    private static func rank(_ kernel: GEMMKernel) -> Int {
        switch kernel {
        case .avx512: 3
        case .avx2, .neon: 2
        case .portable: 1
        }
    }
}
