/// Owned, contiguous, 64-byte-aligned Float32 storage with a shape.
///
/// Used for everything a stream writes (activations, KV caches, the workspace) and for weights that
/// had to be converted at load. It is allocated once and never resized, so holding one costs no
/// allocation in the steady state. It is a class because its memory must have one owner that frees
/// it exactly once; it is deliberately not `Sendable` — per-stream state belongs to one stream.
public final class Tensor {
    /// The byte alignment of every tensor and workspace slice: a cache line, and enough for any
    /// SIMD load OpenBLAS or the Swift kernels make.
    public static let alignment = 64

    public let shape: [Int]
    public let storage: UnsafeMutableBufferPointer<Float>

    /// A zero-filled tensor of `shape` (every dimension ≥ 0).
    public init(shape: [Int]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "Tensor: negative dimension in \(shape)")
        let count = shape.reduce(1, *)
        self.shape = shape
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * MemoryLayout<Float>.stride, alignment: Tensor.alignment)
        let pointer = raw.initializeMemory(as: Float.self, repeating: 0, count: max(count, 1))
        storage = UnsafeMutableBufferPointer(start: pointer, count: count)
    }

    /// A tensor of `shape` holding `values` in row-major order.
    public convenience init(shape: [Int], values: [Float]) {
        self.init(shape: shape)
        precondition(values.count == storage.count, "Tensor: \(values.count) values for shape \(shape)")
        _ = storage.update(fromContentsOf: values)
    }

    deinit {
        UnsafeMutableRawPointer(storage.baseAddress!).deallocate()
    }

    /// The number of values (the product of the shape).
    public var count: Int { storage.count }

    /// The tensor as a matrix whose rows are the last dimension (a vector is one row). The view
    /// does not retain the tensor: keep the tensor alive (a stored property of the stream state,
    /// or `withExtendedLifetime`) for as long as the view is used.
    public var matrix: MutableMatrixRef {
        MutableMatrixRef(storage.baseAddress!, rows: shape.dropLast().reduce(1, *), columns: shape.last ?? 1)
    }

    /// The values as an array, for tests and debugging; allocates.
    public var values: [Float] { Array(storage) }
}
