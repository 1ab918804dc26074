import CKernels

/// A weight [out, in] copied once, at load, into the panel layout a `GEMMKernel` reads: panels of
/// `panelWidth` output columns, each `inputs` rows deep, zero past the last output.
///
/// The memory-mapped weight file stays the source of truth; this copy exists because the
/// micro-kernel streams `panelWidth` outputs' weights for one input at a time from consecutive
/// addresses, which PyTorch's [out, in] rows do not give. Packing at load instead of on every call
/// (as OpenBLAS must) takes a pass over every weight off every frame.
///
/// `@unchecked Sendable`: the values are written once in `init` and only read afterwards, so
/// sharing the model across streams and kernel lanes is sound.
public final class PackedWeights: @unchecked Sendable {
    /// The kernel whose layout this is; products with these weights run on it.
    public let kernel: GEMMKernel
    public let outputs: Int
    public let inputs: Int
    private let storage: UnsafeMutableBufferPointer<Float>

    /// Packs `weight` ([outputs, inputs], any row stride) for `kernel` (one allocation).
    public init(_ weight: MatrixRef, kernel: GEMMKernel = .selected) {
        self.kernel = kernel
        outputs = weight.rows
        inputs = weight.columns
        let count = max(lttw_packed_count(kernel.c, weight.rows, weight.columns), 1)
        let raw = UnsafeMutableRawPointer.allocate(byteCount: count * MemoryLayout<Float>.stride, alignment: Tensor.alignment)
        storage = UnsafeMutableBufferPointer(start: raw.bindMemory(to: Float.self, capacity: count), count: count)
        storage.initialize(repeating: 0)
        lttw_pack(kernel.c, weight.base, weight.rowStride, weight.rows, weight.columns, storage.baseAddress!)
    }

    deinit {
        UnsafeMutableRawPointer(storage.baseAddress!).deallocate()
    }

    /// A view of every output.
    public var matrix: PackedMatrix {
        PackedMatrix(base: UnsafePointer(storage.baseAddress!), outputs: outputs, inputs: inputs, kernel: kernel)
    }
}

/// A view of packed weights: the outputs of one `PackedWeights` or a panel-aligned range of them
/// (one lane's share of a product split by output columns). Like `MatrixRef`, it does not own
/// its memory: the `PackedWeights` must outlive it.
public struct PackedMatrix: @unchecked Sendable {
    /// The first panel.
    let base: UnsafePointer<Float>
    public let outputs: Int
    public let inputs: Int
    public let kernel: GEMMKernel

    /// The outputs `range`; its start must be a multiple of the kernel's panel width (every
    /// multiple of `LinearWeights.columnGranule` is).
    public func outputs(_ range: Range<Int>) -> PackedMatrix {
        precondition(range.lowerBound >= 0 && range.upperBound <= outputs, "PackedMatrix: outputs \(range) outside 0..<\(outputs)")
        precondition(range.lowerBound % kernel.panelWidth == 0 || range.isEmpty,
                     "PackedMatrix: outputs \(range) start inside a \(kernel.panelWidth)-column panel; split on multiples of LinearWeights.columnGranule")
        let offset = range.isEmpty ? 0 : range.lowerBound * inputs
        return PackedMatrix(base: base + offset, outputs: range.count, inputs: inputs, kernel: kernel)
    }
}
