#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import COpenBLAS
import Synchronization

/// How many threads the numeric kernels may use: the lanes of `Parallel`, a pool of worker
/// threads the package owns. Set once at start-up (by `--threads`), not per call.
///
/// The model code splits its work into row or output-column ranges, one per lane, and each lane
/// runs the single-threaded kernels (`Matmul`) on its share: no allocation, and the layer norms,
/// softmaxes and attention between the products run in parallel too. OpenBLAS, which only the
/// benchmark's reference sgemm still calls, is kept at one thread outside `withBLASThreads`: its
/// own threading mallocs a job table on every threaded level-3 call (`USE_ALLOC_HEAP` in
/// driver/level3/level3_thread.c, which Debian's build has).
public enum KernelThreads {
    /// Sets the number of lanes; values below 1 mean 1. Replaces the pool (joining its threads),
    /// so call it before streams run, not while they do.
    public static func set(_ count: Int) {
        Parallel.configure(lanes: max(1, count))
    }

    /// The lanes in effect. Until `set` is called this is OpenBLAS's own default thread count
    /// (`OPENBLAS_NUM_THREADS`, else the cores), taken on first use.
    public static var current: Int { Parallel.lanes }

    /// Runs `body` with OpenBLAS allowed `current` threads of its own, as a program that calls it
    /// directly would have: for measuring the machine's sgemm peak. Allocates in OpenBLAS; never
    /// call it on the per-frame path.
    public static func withBLASThreads<R>(_ body: () throws -> R) rethrows -> R {
        let lanes = current
        openblas_set_num_threads(Int32(lanes))
        defer { openblas_set_num_threads(1) }
        return try body()
    }
}

/// Work that `Parallel.run` splits across the kernel lanes: a small struct holding what every
/// lane needs (the weights, the stream state, which pass), whose `run` does one lane's share.
///
/// A protocol rather than a closure because handing a closure to other threads needs it to
/// escape, and `withoutActuallyEscaping` or an escaping closure's context costs a heap
/// allocation per call; a struct is lent to the workers by pointer and costs nothing.
public protocol ParallelWork {
    /// Does `lane`'s share of the work; called once per lane, concurrently.
    func run(_ lane: Lane)
}

extension ParallelWork {
    static func invoke(_ pointer: UnsafeRawPointer, _ lane: Lane) {
        pointer.assumingMemoryBound(to: Self.self).pointee.run(lane)
    }
}

/// One lane of a `Parallel.run`: which share of the work is its own, and a barrier to meet the
/// other lanes between steps that read what they wrote.
public struct Lane {
    /// This lane, `0 ..< count`.
    public let index: Int
    /// The lanes running the work together.
    public let count: Int
    private let pool: Unmanaged<WorkerPool>?

    init(index: Int, count: Int, pool: Unmanaged<WorkerPool>?) {
        self.index = index
        self.count = count
        self.pool = pool
    }

    /// A lane that runs the whole work alone.
    public static var single: Lane { Lane(index: 0, count: 1, pool: nil) }

    /// This lane's part of `0..<total`: contiguous, as even as possible, every boundary but the
    /// last on a multiple of `granule` (e.g. `LinearWeights.columnGranule` columns, so each lane's
    /// outputs start on a packed weight panel). Parts may be empty when there are few items.
    public func part(_ total: Int, granule: Int = 1) -> Range<Int> {
        let chunks = (total + granule - 1) / granule
        let base = chunks / count, extra = chunks % count
        let start = index * base + min(index, extra)
        let end = start + base + (index < extra ? 1 : 0)
        return min(start * granule, total)..<min(end * granule, total)
    }

    /// Waits until every lane has called `barrier()` the same number of times: what a lane wrote
    /// before it is visible to every lane after it.
    public func barrier() {
        pool?.takeUnretainedValue().barrier(lanes: count)
    }
}

/// Fork–join over the kernel lanes: `run` calls the work once per lane, lane 0 on the calling
/// thread, and returns when every lane is done.
///
/// Dispatch and barriers allocate nothing. Workers poll briefly after a job, then sleep on a
/// condition variable. When the pool is busy with another stream's dispatch, the caller runs the
/// work as one lane rather than wait, so streams on several threads never block one another.
public enum Parallel {
    private static let shared = Mutex<WorkerPool?>(nil)

    /// The number of lanes work is split into.
    public static var lanes: Int { pool().lanes }

    /// Calls `work.run(_:)` once for every lane, in parallel, and returns when all are done.
    public static func run(_ work: some ParallelWork) {
        pool().run(work)
    }

    static func configure(lanes: Int) {
        let old = shared.withLock { pool -> WorkerPool? in
            let old = pool
            pool = WorkerPool(lanes: lanes)
            return old
        }
        old?.shutdown()
        openblas_set_num_threads(1)
    }

    private static func pool() -> WorkerPool {
        shared.withLock { pool in
            if let pool { return pool }
            let created = WorkerPool(lanes: max(1, Int(openblas_get_num_threads())))
            openblas_set_num_threads(1)
            pool = created
            return created
        }
    }
}

/// The threads behind `Parallel`: `lanes - 1` workers plus the caller.
final class WorkerPool: @unchecked Sendable {
    let lanes: Int
    /// Bumped once per dispatch; a worker runs the job when it sees a new value.
    private let generation = Atomic<Int>(0)
    /// Workers that have not finished the current job.
    private let pending = Atomic<Int>(0)
    /// Workers asleep (or about to sleep) on the condition variable.
    private let sleepers = Atomic<Int>(0)
    /// True while a dispatch owns the workers.
    private let busy = Atomic<Bool>(false)
    private let stopping = Atomic<Bool>(false)
    /// Lanes waiting at the current barrier, and the barrier's phase (bumped when all arrive).
    private let arrived = Atomic<Int>(0)
    private let barrierPhase = Atomic<Int>(0)
    /// The current work and its type, valid between the generation bump and `pending` reaching 0.
    private var job: UnsafeRawPointer?
    private var jobType: (any ParallelWork.Type)?
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>
    private var threads: [ThreadHandle] = []

    /// How long an idle worker polls for the next job before it sleeps.
    static let spinNanoseconds: UInt64 = 200_000

    init(lanes: Int) {
        self.lanes = lanes
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
        condition = .allocate(capacity: 1)
        condition.initialize(to: pthread_cond_t())
        pthread_cond_init(condition, nil)
        for lane in 1..<max(lanes, 1) {
            let context = Unmanaged.passRetained(WorkerContext(pool: self, lane: lane)).toOpaque()
            var handle = emptyThreadHandle
            let status = pthread_create(&handle, nil, { raw in
                let context = Unmanaged<WorkerContext>.fromOpaque(raw!).takeRetainedValue()
                context.pool.work(lane: context.lane)
                return nil
            }, context)
            precondition(status == 0, "Parallel: cannot start worker thread \(lane) (pthread_create: \(status))")
            threads.append(handle)
        }
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    /// Stops and joins the workers once no dispatch is running; a `run` that still holds this
    /// pool afterwards does its work on the calling thread.
    func shutdown() {
        while !busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged { sched_yield() }
        stopping.store(true, ordering: .sequentiallyConsistent)
        pthread_mutex_lock(mutex)
        pthread_cond_broadcast(condition)
        pthread_mutex_unlock(mutex)
        for handle in threads { _ = pthread_join(handle.joinable, nil) }
        threads.removeAll()
    }

    func run<Work: ParallelWork>(_ work: Work) {
        guard lanes > 1, busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            work.run(.single)
            return
        }
        withUnsafePointer(to: work) { pointer in
            job = UnsafeRawPointer(pointer)
            jobType = Work.self
            pending.store(lanes - 1, ordering: .relaxed)
            generation.add(1, ordering: .sequentiallyConsistent)
            if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
                pthread_mutex_lock(mutex)
                pthread_cond_broadcast(condition)
                pthread_mutex_unlock(mutex)
            }
            work.run(Lane(index: 0, count: lanes, pool: Unmanaged.passUnretained(self)))
            var polls = 0
            while pending.load(ordering: .acquiring) > 0 {
                polls += 1
                if polls > 64 { sched_yield() }
            }
            job = nil
            jobType = nil
        }
        busy.store(false, ordering: .releasing)
    }

    /// The barrier of `Lane.barrier()`: the last lane to arrive opens the next phase.
    func barrier(lanes: Int) {
        let phase = barrierPhase.load(ordering: .acquiring)
        if arrived.add(1, ordering: .acquiringAndReleasing).newValue == lanes {
            arrived.store(0, ordering: .relaxed)
            barrierPhase.add(1, ordering: .releasing)
            return
        }
        var polls = 0
        while barrierPhase.load(ordering: .acquiring) == phase {
            polls += 1
            if polls > 64 { sched_yield() }
        }
    }

    private func work(lane: Int) {
        var seen = 0
        while true {
            var started: UInt64 = 0
            while generation.load(ordering: .acquiring) == seen {
                if stopping.load(ordering: .relaxed) { return }
                let now = Self.nanoseconds()
                if started == 0 { started = now }
                if now - started < Self.spinNanoseconds {
                    sched_yield()
                    continue
                }
                pthread_mutex_lock(mutex)
                sleepers.add(1, ordering: .sequentiallyConsistent)
                while generation.load(ordering: .sequentiallyConsistent) == seen && !stopping.load(ordering: .relaxed) {
                    pthread_cond_wait(condition, mutex)
                }
                sleepers.subtract(1, ordering: .relaxed)
                pthread_mutex_unlock(mutex)
            }
            if stopping.load(ordering: .relaxed) { return }
            seen = generation.load(ordering: .acquiring)
            jobType!.invoke(job!, Lane(index: lane, count: lanes, pool: Unmanaged.passUnretained(self)))
            pending.subtract(1, ordering: .releasing)
        }
    }

    private static func nanoseconds() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }
}

private final class WorkerContext {
    unowned let pool: WorkerPool
    let lane: Int
    init(pool: WorkerPool, lane: Int) {
        self.pool = pool
        self.lane = lane
    }
}

#if canImport(Darwin)
typealias ThreadHandle = pthread_t?
let emptyThreadHandle: ThreadHandle = nil
extension Optional where Wrapped == pthread_t {
    var joinable: pthread_t { self! }
}
#else
typealias ThreadHandle = pthread_t
let emptyThreadHandle: ThreadHandle = 0
extension pthread_t {
    var joinable: pthread_t { self }
}
#endif
