/// A read-only view of a row-major Float32 matrix: `rows` rows of `columns` values, consecutive
/// rows `rowStride` values apart.
///
/// Views are how every kernel takes its operands. A stride wider than the row lets a kernel read a
/// slice of a fused buffer in place — the query, key and value columns of one `qkv` projection,
/// or one attention head's columns — so no op has to copy a slice out first. A view does not own
/// its memory: the owner (a `Tensor`, a `Workspace`, a memory-mapped weight file) must outlive it.
public struct MatrixRef {
    public let base: UnsafePointer<Float>
    public let rows: Int
    public let columns: Int
    public let rowStride: Int

    /// A view over `base`; `rowStride` defaults to `columns` (a contiguous matrix).
    public init(_ base: UnsafePointer<Float>, rows: Int, columns: Int, rowStride: Int? = nil) {
        let stride = rowStride ?? columns
        precondition(rows >= 0 && columns >= 0, "MatrixRef: negative size \(rows)x\(columns)")
        precondition(stride >= columns, "MatrixRef: row stride \(stride) is narrower than the row (\(columns))")
        self.base = base
        self.rows = rows
        self.columns = columns
        self.rowStride = stride
    }

    /// A contiguous `rows` x `columns` view of a buffer that holds at least that many values.
    public init(_ buffer: UnsafeBufferPointer<Float>, rows: Int, columns: Int) {
        precondition(buffer.count >= rows * columns, "MatrixRef: buffer of \(buffer.count) values is too small for \(rows)x\(columns)")
        self.init(buffer.baseAddress ?? UnsafePointer(bitPattern: MemoryLayout<Float>.alignment)!, rows: rows, columns: columns)
    }

    /// True when the rows follow one another with no gap, so the matrix is one flat run of values.
    @inlinable public var isContiguous: Bool { rowStride == columns || rows <= 1 }

    /// The first value of row `row`.
    @inlinable public func row(_ row: Int) -> UnsafePointer<Float> { base + row * rowStride }

    /// The columns `range` of every row, e.g. one head's slice or the keys of a fused `qkv` buffer.
    @inlinable public func columns(_ range: Range<Int>) -> MatrixRef {
        precondition(range.lowerBound >= 0 && range.upperBound <= columns, "MatrixRef: columns \(range) outside 0..<\(columns)")
        return MatrixRef(base + range.lowerBound, rows: rows, columns: range.count, rowStride: rowStride)
    }

    /// The rows `range`, e.g. the filled part of a cache.
    @inlinable public func rows(_ range: Range<Int>) -> MatrixRef {
        precondition(range.lowerBound >= 0 && range.upperBound <= rows, "MatrixRef: rows \(range) outside 0..<\(rows)")
        return MatrixRef(base + range.lowerBound * rowStride, rows: range.count, columns: columns, rowStride: rowStride)
    }
}

/// A writable view of a row-major Float32 matrix; see `MatrixRef` for the layout and lifetime rules.
public struct MutableMatrixRef {
    public let base: UnsafeMutablePointer<Float>
    public let rows: Int
    public let columns: Int
    public let rowStride: Int

    /// A view over `base`; `rowStride` defaults to `columns` (a contiguous matrix).
    public init(_ base: UnsafeMutablePointer<Float>, rows: Int, columns: Int, rowStride: Int? = nil) {
        let stride = rowStride ?? columns
        precondition(rows >= 0 && columns >= 0, "MutableMatrixRef: negative size \(rows)x\(columns)")
        precondition(stride >= columns, "MutableMatrixRef: row stride \(stride) is narrower than the row (\(columns))")
        self.base = base
        self.rows = rows
        self.columns = columns
        self.rowStride = stride
    }

    /// A contiguous `rows` x `columns` view of a buffer that holds at least that many values.
    public init(_ buffer: UnsafeMutableBufferPointer<Float>, rows: Int, columns: Int) {
        precondition(buffer.count >= rows * columns, "MutableMatrixRef: buffer of \(buffer.count) values is too small for \(rows)x\(columns)")
        self.init(buffer.baseAddress ?? UnsafeMutablePointer(bitPattern: MemoryLayout<Float>.alignment)!, rows: rows, columns: columns)
    }

    /// The same memory, read-only.
    @inlinable public var readOnly: MatrixRef { MatrixRef(UnsafePointer(base), rows: rows, columns: columns, rowStride: rowStride) }

    /// True when the rows follow one another with no gap, so the matrix is one flat run of values.
    @inlinable public var isContiguous: Bool { rowStride == columns || rows <= 1 }

    /// The first value of row `row`.
    @inlinable public func row(_ row: Int) -> UnsafeMutablePointer<Float> { base + row * rowStride }

    /// The columns `range` of every row.
    @inlinable public func columns(_ range: Range<Int>) -> MutableMatrixRef {
        precondition(range.lowerBound >= 0 && range.upperBound <= columns, "MutableMatrixRef: columns \(range) outside 0..<\(columns)")
        return MutableMatrixRef(base + range.lowerBound, rows: rows, columns: range.count, rowStride: rowStride)
    }

    /// The rows `range`.
    @inlinable public func rows(_ range: Range<Int>) -> MutableMatrixRef {
        precondition(range.lowerBound >= 0 && range.upperBound <= rows, "MutableMatrixRef: rows \(range) outside 0..<\(rows)")
        return MutableMatrixRef(base + range.lowerBound * rowStride, rows: range.count, columns: columns, rowStride: rowStride)
    }
}
