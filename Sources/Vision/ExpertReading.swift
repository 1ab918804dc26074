#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Imaging
import Kernels
import Synchronization

/// Reads the signal expert and the obstacle expert on one frame together, in one dispatch over
/// the kernel lanes, so that the serial parts of one expert overlap the other's work.
///
/// Each expert alone splits poorly over two lanes: the lamp proposal and the obstacle expert's
/// squash of the full frame run on one thread, and the candidates' crops are whole crops per
/// lane. Together: lane 0 proposes the lamps while lane 1 reads the obstacle expert on its own
/// (its frame squash included); then every lane takes candidate crops from a shared counter
/// until none are left. Lanes past the second only read crops (they wait out the proposal).
///
/// Each crop is read whole by one lane, so the light (decision, candidates and their
/// probabilities) is bit for bit what `SignalExpert.read` gives. The obstacle expert runs on one
/// thread here: its probabilities are those of `ObstacleExpert.read` on one lane, which equal its
/// read split over several lanes up to float rounding (a lane's odd last row is summed in another
/// order by the kernels' one-row path).
///
/// With a companion (`FrameCompanion`: the scene model's preprocessing, encoder and heads,
/// `StreetModel.Stream.readFrame`), lane 0 runs it on its own while lane 1 proposes the lamps and
/// reads the obstacle expert, and each joins the crops when its part is done: each of those passes
/// is small enough that one thread runs it more efficiently than two sharing it. When the obstacle
/// expert's input is the companion's (the same size and statistics; the two squashes were 7 % of
/// a one-thread frame's profile), lane 1 reads it once the companion says it is written instead
/// of squashing the frame again.
///
/// One per stream; allocates nothing per frame.
public final class ExpertReading {
    /// The next candidate to read.
    private let next = Atomic<Int>(0)
    /// The candidates proposed for this frame, -1 until lane 0 has proposed them.
    private let proposed = Atomic<Int>(-1)
    /// The companion's input for the obstacle expert: -1 until written, 1 written, 0 never to be
    /// (the companion failed first).
    private let companionInputState = Atomic<Int>(-1)
    /// A lane's failure, read back on the calling thread after the lanes meet.
    private let errors: UnsafeMutableBufferPointer<ImagingError?>

    public init() {
        errors = .allocate(capacity: max(2, Parallel.lanes))
        errors.initialize(repeating: nil)
    }

    deinit {
        errors.deinitialize()
        errors.deallocate()
    }

    /// Reads `image` with both experts: the signal expert's decision (`SignalExpert.read`) and the
    /// obstacle expert's probabilities in `obstacleState` (`ObstacleExpert.read`). `mean` and
    /// `std` are the signal expert's crop statistics (the model's preprocessing).
    public func read(
        _ image: Image, signal: SignalExpert, _ signalState: SignalExpert.State, mean: [Float], std: [Float],
        obstacles: ObstacleExpert, _ obstacleState: ObstacleExpert.State
    ) throws(ImagingError) -> SignalDecision {
        try read(image, signal: signal, signalState, mean: mean, std: std, obstacles: obstacles, obstacleState,
                 alongside: NoCompanion?.none)
    }

    /// `read`, with `companion` run on lane 0 of the same dispatch (before anything else when
    /// there is one lane). A companion's failure is thrown like the experts' (the first lane's).
    /// With `companionInput`, the obstacle expert reads that buffer (the expert's [3, S, S] input,
    /// exactly as its own preprocessing would write it) once the companion calls `inputWritten`,
    /// instead of preprocessing the frame itself.
    public func read<Companion: FrameCompanion>(
        _ image: Image, signal: SignalExpert, _ signalState: SignalExpert.State, mean: [Float], std: [Float],
        obstacles: ObstacleExpert, _ obstacleState: ObstacleExpert.State, alongside companion: Companion?,
        companionInput: UnsafeBufferPointer<Float>? = nil
    ) throws(ImagingError) -> SignalDecision {
        let sharedInput = companion == nil ? nil : companionInput
        guard Parallel.lanes > 1 else {
            try companion?.run(inputWritten: {})
            if let sharedInput {
                obstacles.read(input: sharedInput, state: obstacleState)
            } else {
                try obstacles.read(image, state: obstacleState)
            }
            return try signal.read(image, mean: mean, std: std, state: signalState)
        }
        next.store(0, ordering: .relaxed)
        proposed.store(-1, ordering: .releasing)
        companionInputState.store(-1, ordering: .releasing)
        Parallel.run(Work(reading: self, image: image, signal: signal, signalState: signalState, mean: mean, std: std,
                          obstacles: obstacles, obstacleState: obstacleState, companion: companion,
                          sharedInput: sharedInput))
        for lane in errors.indices {
            if let error = errors[lane] {
                for other in errors.indices { errors[other] = nil }
                throw error
            }
        }
        return try signal.decideRead(image, mean: mean, std: std, state: signalState)
    }

    private struct Work<Companion: FrameCompanion>: ParallelWork {
        let reading: ExpertReading
        let image: Image
        let signal: SignalExpert
        let signalState: SignalExpert.State
        let mean: [Float]
        let std: [Float]
        let obstacles: ObstacleExpert
        let obstacleState: ObstacleExpert.State
        let companion: Companion?
        let sharedInput: UnsafeBufferPointer<Float>?

        func run(_ lane: Lane) {
            // Shared only over the lanes this stream has room for: one lane when the pool was busy
            // with another stream (`Parallel.run` then runs the work on the calling thread), or when
            // the lanes were raised after the stream was made. Lane 0 then does it all.
            let shared = lane.count > 1 && lane.count <= reading.errors.count && lane.count <= signal.readerLanes(signalState)
            guard shared || lane.index == 0 else { return }
            // Lane 0 proposes, unless it runs the companion: then lane 1 proposes before the
            // obstacle expert, so the crops are ready for whichever lane is free first.
            let proposer = companion != nil && shared ? 1 : 0
            do {
                if lane.index == 0, let companion {
                    // A companion that fails before its input is written leaves nothing to wait for.
                    defer { if reading.companionInputState.load(ordering: .acquiring) < 0 { reading.companionInputState.store(0, ordering: .releasing) } }
                    try companion.run(inputWritten: { reading.companionInputState.store(1, ordering: .releasing) })
                }
                if lane.index == proposer {
                    defer { if reading.proposed.load(ordering: .acquiring) < 0 { reading.proposed.store(0, ordering: .releasing) } }
                    try signal.propose(image, state: signalState)
                    reading.proposed.store(signalState.candidates.count, ordering: .releasing)
                }
                if lane.index == 1 || !shared {
                    if let sharedInput {
                        // Lane 1 proposed the lamps first: the companion's squash is usually done.
                        var written = reading.companionInputState.load(ordering: .acquiring)
                        while written < 0 {
                            sched_yield()
                            written = reading.companionInputState.load(ordering: .acquiring)
                        }
                        if written == 1 { obstacles.read(input: sharedInput, state: obstacleState, onThisThread: true) }
                    } else {
                        try obstacles.readOnThisThread(image, state: obstacleState)
                    }
                }
                // The proposer proposes before it reads, so another lane waits here only when its
                // own work was shorter than the proposal.
                var count = reading.proposed.load(ordering: .acquiring)
                while count < 0 {
                    sched_yield()
                    count = reading.proposed.load(ordering: .acquiring)
                }
                while true {
                    let index = reading.next.wrappingAdd(1, ordering: .relaxed).oldValue
                    guard index < count else { break }
                    try signal.readCandidate(index, image, mean: mean, std: std, state: signalState, lane: lane.index)
                }
            } catch {
                reading.errors[lane.index] = error
            }
        }
    }
}

/// Work a frame does beside the two experts on one lane of their dispatch (`ExpertReading`): the
/// scene model's read of the same frame (`StreetModel.Stream.readFrame`). Runs on the calling
/// thread; its own products run there too (the pool is busy with the dispatch).
public protocol FrameCompanion {
    /// Runs the companion's part; calls `inputWritten` as soon as the input it shares with the
    /// obstacle expert (`ExpertReading.read`'s `companionInput`) is written. One that throws before
    /// that need not call it.
    func run(inputWritten: () -> Void) throws(ImagingError)
}

/// No companion: `ExpertReading.read` without one.
public struct NoCompanion: FrameCompanion {
    public func run(inputWritten: () -> Void) {}
}
