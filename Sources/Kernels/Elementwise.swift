/// Element-by-element ops over matrix views: the residual adds, bias adds and scaling between the
/// matrix products. Each walks rows so strided views work, and runs as one flat loop when the
/// view is contiguous.
public enum Elementwise {
    /// `y += x` — the residual connection. Shapes must match; `x` may be `y` itself.
    public static func add(_ x: MatrixRef, to y: MutableMatrixRef) {
        precondition(x.rows == y.rows && x.columns == y.columns, "Elementwise.add: x is \(x.rows)x\(x.columns), y is \(y.rows)x\(y.columns)")
        if x.isContiguous && y.isContiguous {
            addRun(x.base, y.base, x.rows * x.columns)
        } else {
            for r in 0..<y.rows { addRun(x.row(r), y.row(r), y.columns) }
        }
    }

    /// `y[r, :] += v` for every row: a bias add. `v` holds `y.columns` values.
    public static func addRowVector(_ v: UnsafePointer<Float>, to y: MutableMatrixRef) {
        for r in 0..<y.rows { addRun(v, y.row(r), y.columns) }
    }

    /// `y *= factor`.
    public static func scale(_ y: MutableMatrixRef, by factor: Float) {
        for r in 0..<y.rows {
            let p = y.row(r)
            for j in 0..<y.columns { p[j] *= factor }
        }
    }

    /// Copies `x` into `y` (same shape; strides may differ).
    public static func copy(_ x: MatrixRef, to y: MutableMatrixRef) {
        precondition(x.rows == y.rows && x.columns == y.columns, "Elementwise.copy: x is \(x.rows)x\(x.columns), y is \(y.rows)x\(y.columns)")
        for r in 0..<y.rows { y.row(r).update(from: x.row(r), count: y.columns) }
    }

    @inline(__always)
    static func addRun(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        var i = 0
        while i + 8 <= n {
            SmallProducts.store(SmallProducts.load(x + i) + SmallProducts.load(UnsafePointer(y + i)), y + i)
            i += 8
        }
        while i < n {
            y[i] += x[i]
            i += 1
        }
    }
}
