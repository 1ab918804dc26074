/// A per-stream scratch arena: one allocation, sized at load from the worst case, handed out in
/// aligned slices during a forward pass and reclaimed all at once by `reset()`.
///
/// This is how steady-state inference allocates nothing: the model code computes the largest
/// pass's needs with a `WorkspacePlan`, makes one `Workspace`, then every frame calls `reset()` and
/// `take` again. Running out is a sizing bug in the caller, not an input condition, so it traps
/// with the sizes rather than returning an error on the hot path.
public final class Workspace {
    private let tensor: Tensor
    /// Values handed out since the last `reset()`.
    public private(set) var used = 0
    /// The most values ever in use at once; lets tests check that a plan is tight.
    public private(set) var highWater = 0

    /// An arena of `capacity` values.
    public init(capacity: Int) {
        tensor = Tensor(shape: [capacity])
    }

    /// An arena exactly as large as `plan` asks for.
    public convenience init(_ plan: WorkspacePlan) {
        self.init(capacity: plan.capacity)
    }

    /// The number of values the arena holds.
    public var capacity: Int { tensor.count }

    /// Makes every slice available again. Slices taken before stay valid memory but will be reused.
    public func reset() { used = 0 }

    /// A slice of `count` values starting on a 64-byte boundary. Contents are whatever the last
    /// user left there.
    public func take(_ count: Int) -> UnsafeMutableBufferPointer<Float> {
        precondition(count >= 0, "Workspace.take: negative count \(count)")
        let start = used
        let end = start + WorkspacePlan.padded(count)
        precondition(end <= capacity, "Workspace exhausted: \(count) values asked with \(used) of \(capacity) in use; size the plan for the worst case")
        used = end
        highWater = max(highWater, end)
        return UnsafeMutableBufferPointer(rebasing: tensor.storage[start..<(start + count)])
    }

    /// A contiguous `rows` x `columns` slice.
    public func take(rows: Int, columns: Int) -> MutableMatrixRef {
        MutableMatrixRef(take(rows * columns), rows: rows, columns: columns)
    }
}

/// The sizes a forward pass will take from a `Workspace`, added up with the same padding
/// `take` applies, so a workspace made from the plan is exactly large enough.
public struct WorkspacePlan: Sendable, Equatable {
    /// Values reserved so far, padded.
    public private(set) var capacity = 0

    public init() {}

    /// The values a slice of `count` occupies: rounded up so the next slice stays 64-byte aligned.
    public static func padded(_ count: Int) -> Int {
        let step = Tensor.alignment / MemoryLayout<Float>.stride
        return (count + step - 1) / step * step
    }

    /// Reserves a slice of `count` values.
    public mutating func reserve(_ count: Int) {
        capacity += WorkspacePlan.padded(count)
    }

    /// Reserves a `rows` x `columns` slice.
    public mutating func reserve(rows: Int, columns: Int) {
        reserve(rows * columns)
    }

    /// The larger of two plans: for passes that run one after another and reuse the same memory.
    public func union(_ other: WorkspacePlan) -> WorkspacePlan {
        var plan = WorkspacePlan()
        plan.capacity = max(capacity, other.capacity)
        return plan
    }
}
