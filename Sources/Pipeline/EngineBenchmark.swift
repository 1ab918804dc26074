#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Imaging
import Kernels
import Narrator
import Vision

/// Times the engine stage by stage on real frames, the way a wearable runs it: one stream, one
/// frame after another. Allocation counts come from libAllocationCounter when it is preloaded.
public struct EngineBenchmark {
    public struct Percentiles: Sendable, Codable {
        public var p50: Double
        public var p95: Double
        public var mean: Double
        public var n: Int

        init(_ milliseconds: [Double]) {
            let sorted = milliseconds.sorted()
            p50 = Self.quantile(sorted, 0.5)
            p95 = Self.quantile(sorted, 0.95)
            mean = sorted.isEmpty ? .nan : sorted.reduce(0, +) / Double(sorted.count)
            n = sorted.count
        }

        /// numpy's default (linear) percentile of ascending `sorted`, so the figures compare with
        /// lttw.bench's; NaN for no values.
        static func quantile(_ sorted: [Double], _ q: Double) -> Double {
            guard !sorted.isEmpty else { return .nan }
            let position = q * Double(sorted.count - 1)
            let low = Int(position.rounded(.down)), high = Int(position.rounded(.up))
            return sorted[low] + (sorted[high] - sorted[low]) * (position - Double(low))
        }
    }

    public struct Result: Sendable, Codable {
        public var stages: [String: Percentiles]
        public var tokensPerCaption: Double
        /// The beam width of the `caption_beam` stage, when one was timed.
        public var beamWidth: Int?
        public var tokensPerBeamCaption: Double?
        /// Heap allocations per frame in the steady state (preprocess to caption), when counted.
        public var allocationsPerFrame: Double?
        public var peakResidentMiB: Double
        /// The instruction set every model product ran on (`GEMMKernel.rawValue`).
        public var kernel: String
        /// The single-precision FMA peak of one thread on that kernel's vectors, in GFLOP/s
        /// (a register-only loop: the ceiling, not a library's figure).
        public var fmaPeakGflopsPerThread: Double
        /// The kernel lanes the engine ran with.
        public var threads: Int
        /// OpenBLAS's `cblas_sgemm` on a 1024³ product with the same threads, in GFLOP/s: a
        /// reference figure only (no model product uses OpenBLAS).
        public var sgemmPeakGflops: Double
        /// `openblas_get_corename()`, and whether it is below what the CPU can run.
        public var blasCore: String
        public var blasCoreMismatch: Bool
        /// Multiply-adds ×2 of the encoder's matrix products for one frame.
        public var encoderFlops: Double
        public var encoderGflops: Double { encoderFlops / (stages["encoder"]!.p50 / 1000) / 1e9 }
        /// The encoder's GFLOP/s as a share of the FMA peak of all its threads.
        public var encoderShareOfPeak: Double { encoderGflops / (fmaPeakGflopsPerThread * Double(threads)) }
    }

    public var model: StreetModel
    public var frames: Int
    public var warmup: Int
    public var language: Language
    /// Above 1: every frame also decodes a caption by beam search of this width, after the greedy
    /// one, timed as `caption_beam` (not part of `frame`); its allocations are counted.
    public var beamWidth: Int

    public init(model: StreetModel, frames: Int, warmup: Int, language: Language, beamWidth: Int = 1) {
        self.model = model
        self.frames = frames
        self.warmup = warmup
        self.language = language
        self.beamWidth = beamWidth
    }

    /// Runs `warmup + frames` frames over `images` (cycled) and reports the steady-state figures.
    public func run(images: [Image], progress: (Int) -> Void = { _ in }) throws(ImagingError) -> Result {
        precondition(!images.isEmpty, "EngineBenchmark needs at least one image")
        let stream = StreetModel.Stream(model, beamWidth: beamWidth)
        var tokens: [Int32] = [], beamTokens: [Int32] = []
        tokens.reserveCapacity(model.configuration.architecture.decMaxLen + 1)
        beamTokens.reserveCapacity(model.configuration.architecture.decMaxLen + 1)
        var samples: [String: [Double]] = [:]
        for key in ["preprocess", "encoder", "heads", "projector", "experts", "read", "signal", "obstacles", "fusion", "decoder_token", "caption", "caption_beam", "frame"] {
            samples[key] = []
            samples[key]!.reserveCapacity(frames * model.configuration.architecture.decMaxLen)
        }
        var tokenCounts = 0, beamTokenCounts = 0
        var allocations: UInt64 = 0
        let counter = AllocationCount.reader()
        let clock = ContinuousClock()
        func ms(_ d: Duration) -> Double {
            Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15
        }
        for index in 0..<(warmup + frames) {
            let image = images[index % images.count]
            let measured = index >= warmup
            let allocationsBefore = counter?() ?? 0
            // The frame as the product reads it (`readFrame`: the scene model and the experts in
            // one dispatch) and captions it; then each stage on its own, for its row.
            let f0 = clock.now
            try stream.readFrame(image)
            let fRead = clock.now
            stream.caption(language, into: &tokens)
            let f1 = clock.now
            let t0 = clock.now
            try stream.preprocess(image)
            let t1 = clock.now
            stream.encode()
            let t2 = clock.now
            stream.runHeads()
            let t3 = clock.now
            // The decoder's cross-attention is prepared here without fusion; with it, after the
            // experts (they are what it fuses), as `fusion`.
            stream.project()
            let t3b = clock.now
            try stream.readExperts(image)
            let t4a = clock.now
            if model.fusion != nil { stream.prepareCaptionMemory() }
            let t4 = clock.now
            var last = t4
            var steps = 0
            stream.caption(language, into: &tokens) { _ in
                let now = clock.now
                if steps > 0, measured { samples["decoder_token"]!.append(ms(now - last)) }
                last = now
                steps += 1
            }
            let t5 = clock.now
            if beamWidth > 1 { stream.caption(language, beamWidth: beamWidth, into: &beamTokens) }
            let t6 = clock.now
            // Each expert alone too (not part of the frame), for its own row and its peers'.
            try stream.readSignal(image)
            let t7 = clock.now
            try stream.readObstacles(image)
            let t8 = clock.now
            let allocationsAfter = counter?() ?? 0
            progress(index)
            guard measured else { continue }
            samples["preprocess"]!.append(ms(t1 - t0))
            samples["encoder"]!.append(ms(t2 - t1))
            samples["heads"]!.append(ms(t3 - t2))
            samples["projector"]!.append(ms(t3b - t3))
            if model.signalExpert != nil || model.obstacleExpert != nil { samples["experts"]!.append(ms(t4a - t3b)) }
            if model.signalExpert != nil { samples["signal"]!.append(ms(t7 - t6)) }
            if model.obstacleExpert != nil { samples["obstacles"]!.append(ms(t8 - t7)) }
            samples["caption"]!.append(ms(t5 - t4))
            samples["frame"]!.append(ms(f1 - f0))
            samples["read"]!.append(ms(fRead - f0))
            if beamWidth > 1 { samples["caption_beam"]!.append(ms(t6 - t5)) }
            if model.fusion != nil { samples["fusion"]!.append(ms(t4 - t4a)) }
            tokenCounts += tokens.count
            beamTokenCounts += beamTokens.count
            allocations += allocationsAfter - allocationsBefore
        }
        var stages: [String: Percentiles] = [:]
        for (key, values) in samples where !values.isEmpty { stages[key] = Percentiles(values) }
        return Result(
            stages: stages,
            tokensPerCaption: Double(tokenCounts) / Double(frames),
            beamWidth: beamWidth > 1 ? beamWidth : nil,
            tokensPerBeamCaption: beamWidth > 1 ? Double(beamTokenCounts) / Double(frames) : nil,
            allocationsPerFrame: counter == nil ? nil : Double(allocations) / Double(frames),
            peakResidentMiB: Self.peakResidentMiB(),
            kernel: GEMMKernel.selected.rawValue,
            fmaPeakGflopsPerThread: GEMMKernel.selected.peakGflops(),
            threads: KernelThreads.current,
            sgemmPeakGflops: Self.sgemmPeak(),
            blasCore: BLASCore.current.name,
            blasCoreMismatch: BLASCore.current.isMismatch,
            encoderFlops: Self.encoderFlops(model.configuration.architecture))
    }

    /// Whole frames of this benchmark's model and of `baseline` (another model folder, e.g. v1
    /// from git history), on their own streams, in alternating blocks of `block` frames: a shared
    /// machine's speed drifts over seconds, and blocks taken side by side see the same drift. The
    /// first frame of every block only warms the caches back up for its model and is not counted
    /// (frames alternated one by one would each start with the other model's weights in the
    /// caches, which no wearable running one model sees). Each frame is what `run` times as
    /// `frame` (`readFrame` and the greedy caption). The baseline's caption is decoded
    /// `baselineCaption`: by default free, as a model from before the caption constraint shipped
    /// (held to its facts, v1's decoder, which claimed much its heads denied, writes captions a
    /// third shorter on the samples, 6.8 tokens against 9.7, and its frame is faster than it ever was).
    public func compare(
        with baseline: StreetModel, images: [Image], block: Int = 8, baselineCaption: CaptionFacts = .free
    ) throws(ImagingError) -> Comparison {
        precondition(!images.isEmpty && block > 0, "EngineBenchmark needs at least one image and a block")
        let clock = ContinuousClock()
        let streams = [StreetModel.Stream(model), StreetModel.Stream(baseline)]
        var tokens: [Int32] = []
        tokens.reserveCapacity(max(model.configuration.architecture.decMaxLen, baseline.configuration.architecture.decMaxLen) + 1)
        var samples: [[Double]] = [[], []]
        var next = [0, 0]
        func frame(_ which: Int) throws(ImagingError) -> Double {
            let image = images[next[which] % images.count]
            next[which] += 1
            let stream = streams[which]
            let start = clock.now
            try stream.readFrame(image)
            stream.caption(language, facts: which == 0 ? .frame : baselineCaption, into: &tokens)
            let elapsed = clock.now - start
            return Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        }
        for which in 0..<2 {
            for _ in 0..<warmup { _ = try frame(which) }
        }
        var round = 0
        var blockMedians: [[Double]] = [[], []]
        while samples[0].count < frames || samples[1].count < frames {
            for turn in 0..<2 {
                let which = (round + turn) % 2
                guard samples[which].count < frames else { continue }
                _ = try frame(which)
                var timed: [Double] = []
                for _ in 0..<min(block, frames - samples[which].count) { timed.append(try frame(which)) }
                samples[which] += timed
                blockMedians[which].append(Percentiles(timed).p50)
            }
            round += 1
        }
        let pairs = min(blockMedians[0].count, blockMedians[1].count)
        return Comparison(
            frame: Percentiles(samples[0]), baselineFrame: Percentiles(samples[1]),
            blockRatios: (0..<pairs).map { blockMedians[0][$0] / blockMedians[1][$0] })
    }

    /// The frames of `compare(with:images:)`.
    public struct Comparison: Sendable, Codable {
        public var frame: Percentiles
        public var baselineFrame: Percentiles
        /// Block by block, this model's median frame over the baseline's in the block beside it (the
        /// same images, seconds apart): how steady the ratio is on a machine whose speed drifts.
        public var blockRatios: [Double]
        /// This model's frame p50 over the baseline's.
        public var ratio: Double { frame.p50 / baselineFrame.p50 }
        /// The quartiles of `blockRatios` (numpy's linear percentiles).
        public var blockRatioQuartiles: (low: Double, median: Double, high: Double) {
            let sorted = blockRatios.sorted()
            return (Percentiles.quantile(sorted, 0.25), Percentiles.quantile(sorted, 0.5), Percentiles.quantile(sorted, 0.75))
        }
    }

    /// The encoder's matrix-product FLOPs (2 per multiply-add), as training/lttw/model.py counts them.
    public static func encoderFlops(_ a: ModelConfiguration.Architecture) -> Double {
        let d = Double(a.encWidth), n = Double(a.encoderTokens), hidden = Double(a.encMlpWidth)
        let patchValues = Double(3 * a.patchSize * a.patchSize)
        let embed = 2 * Double(a.patchCount) * patchValues * d
        let block = 2 * (n * d * 3 * d + n * d * d + 2 * n * n * d + 2 * n * d * hidden)
        return embed + Double(a.encDepth) * block
    }

    /// GFLOP/s of a 1024×1024×1024 sgemm, best of twenty (shared machines are noisy: the best is the
    /// peak), OpenBLAS threaded over the kernel lanes.
    public static func sgemmPeak(size: Int = 1024) -> Double {
        let a = Tensor(shape: [size, size]), b = Tensor(shape: [size, size]), c = Tensor(shape: [size, size])
        for i in 0..<a.count {
            a.storage[i] = Float(i % 7) * 0.01
            b.storage[i] = Float(i % 5) * 0.02
        }
        let clock = ContinuousClock()
        var best = Double.infinity
        // OpenBLAS's own threading, with as many threads as the kernels have lanes: the peak a
        // program calling sgemm directly would get, not the engine's one-thread-per-lane setup.
        KernelThreads.withBLASThreads {
            for _ in 0..<20 {
                let start = clock.now
                Matmul.multiplyTransposed(a.matrix.readOnly, b.matrix.readOnly, into: c.matrix, path: .blas)
                let elapsed = clock.now - start
                best = min(best, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
            }
        }
        return 2 * Double(size * size * size) / best / 1e9
    }

    static func peakResidentMiB() -> Double {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        return Double(usage.ru_maxrss) / 1024
    }
}

/// Finds `lttw_allocation_count` when libAllocationCounter.so is preloaded.
enum AllocationCount {
    typealias Reader = @convention(c) () -> UInt64

    static func reader() -> (() -> UInt64)? {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "lttw_allocation_count") else { return nil }
        let function = unsafeBitCast(symbol, to: Reader.self)
        return { function() }
    }
}
