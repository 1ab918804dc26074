import Imaging
import Kernels

/// Fills row `index` of a `CropReader.Rows` (its crop and its geometry) on the lane that will
/// read it: sampling a crop reads the frame under its rectangle (all of it for the whole-frame
/// candidate), so it belongs with the crop's lane, not in a serial loop before them.
protocol CropSampling {
    func sample(_ index: Int, into rows: CropReader.Rows) throws(ImagingError)
}

/// One lane's activations of a crop classifier, and its sampling failure in the last read.
protocol CropLane: AnyObject {
    var error: ImagingError? { get set }
}

/// A crop classifier that reads one sampled row of `CropReader.Rows` on one lane (the patch
/// reader, `MobileNetCropReader`): `readCrops` shares a batch of crops out over the lanes.
protocol SingleCropReading: Sendable {
    associatedtype LaneState: CropLane
    func readCrop(_ index: Int, of rows: CropReader.Rows, lane: LaneState)
}

extension SingleCropReading {
    /// Samples (with `sampling`) and reads the first `count` rows of `rows`, split round-robin
    /// over the lanes when there is more than one: each lane samples the crops it reads (a crop
    /// is too small a pass to split). Throws the first lane's sampling failure once every lane is
    /// done.
    func readCrops(_ rows: CropReader.Rows, count: Int, lanes: [LaneState], sampling: some CropSampling) throws(ImagingError) {
        guard count > 0 else { return }
        let work = CropWork(reader: self, rows: rows, lanes: lanes, count: count, sampling: sampling)
        if Parallel.lanes > 1, Parallel.lanes <= lanes.count, count > 1 {
            Parallel.run(work)
        } else {
            work.run(.single)
        }
        for lane in lanes {
            if let error = lane.error {
                for other in lanes { other.error = nil }
                throw error
            }
        }
    }
}

/// Crops split round-robin over the lanes; each lane samples and reads its crops alone.
private struct CropWork<Reader: SingleCropReading, Sampling: CropSampling>: ParallelWork {
    let reader: Reader
    let rows: CropReader.Rows
    let lanes: [Reader.LaneState]
    let count: Int
    let sampling: Sampling

    func run(_ lane: Lane) {
        let laneState = lanes[lane.index]
        var index = lane.index
        while index < count {
            do {
                try sampling.sample(index, into: rows)
                reader.readCrop(index, of: rows, lane: laneState)
            } catch {
                laneState.error = error
                return
            }
            index += lane.count
        }
    }
}

/// A small ViT that reads square crops of one candidate: the signal expert's reader (32×32, six
/// classes), its green verifier (64×64, green or not) and the countdown reader (48×48 behind a
/// convolutional stem; two groups of classes). Mirrors training/lttw/signal_model.py's
/// `SignalReader`:
///
///     crop -> [ConvolutionalStem] -> PatchEncoder -> feature = [class token, max over patch tokens]
///          -> fc2(GELU(fc1([feature, geometry]))) -> softmax(logits / temperature) per group
public struct CropReader: SingleCropReading, @unchecked Sendable {
    public let encoder: PatchEncoder
    /// Embeds the patch tokens when the reader has a convolutional stem (nil: the encoder's own
    /// patch embedding).
    public let stem: ConvolutionalStem?
    public let geometry: EncoderGeometry
    public let classCount: Int
    /// The sizes of the output groups, each its own softmax, in order (one group of all the
    /// classes unless given).
    public let softmaxGroups: [Int]
    public let temperature: Float
    let hidden: LinearWeights
    let output: LinearWeights

    /// The candidate's geometry values the head reads (lamps.GEOMETRY): centre x, centre y,
    /// width, height as fractions of the frame, and 1 for the whole-frame candidate.
    public static let geometryCount = 5

    public init(
        _ source: some WeightSource, geometry g: EncoderGeometry, prefix: String, headHidden: Int, classCount: Int,
        temperature: Double, softmaxGroups: [Int]? = nil, stemChannels: [Int]? = nil
    ) throws {
        geometry = g
        self.classCount = classCount
        self.softmaxGroups = softmaxGroups ?? [classCount]
        precondition(self.softmaxGroups.reduce(0, +) == classCount && self.softmaxGroups.allSatisfy { $0 > 0 }, "softmax groups")
        self.temperature = Float(temperature)
        stem = try stemChannels.map {
            try ConvolutionalStem(source, prefix: prefix + "encoder.patch_embed", channels: [3] + $0 + [g.width], imageSize: g.imageSize)
        }
        encoder = try PatchEncoder(source, geometry: g, prefix: prefix + "encoder", embedsPatches: stem == nil)
        hidden = try LinearWeights(source, prefix + "fc1", inputs: 2 * g.width + Self.geometryCount, outputs: headHidden)
        output = try LinearWeights(source, prefix + "fc2", inputs: headHidden, outputs: classCount)
    }

    /// Size of one candidate embedding: the class token and its max over patches.
    public var featureWidth: Int { 2 * geometry.width }

    /// Multiply-adds ×2 of reading one crop.
    public var flopsPerCrop: Int {
        let patchEmbedding = 2 * geometry.patchCount * 3 * geometry.patchSize * geometry.patchSize * geometry.width
        return geometry.flops - (stem == nil ? 0 : patchEmbedding) + (stem?.flops ?? 0)
            + 2 * hidden.weight.rows * (featureWidth + Self.geometryCount + classCount)
    }

    /// One batch of crops and where their embeddings, hidden rows and probabilities go, sized
    /// once for `capacity` crops.
    public final class Rows {
        /// [capacity, 3·size·size] normalised crops.
        public let crops: Tensor
        /// [capacity, featureWidth + geometryCount]: the embedding, then the candidate's geometry.
        public let features: Tensor
        let hidden: Tensor
        /// [capacity, classes] calibrated class probabilities.
        public let probabilities: Tensor

        public convenience init(_ reader: CropReader, capacity: Int) {
            self.init(
                inputCount: reader.geometry.inputCount, featureWidth: reader.featureWidth, hiddenWidth: reader.hidden.weight.rows,
                classCount: reader.classCount, capacity: capacity)
        }

        /// Rows for any crop classifier with this layout (`MobileNetCropReader` too).
        public init(inputCount: Int, featureWidth: Int, hiddenWidth: Int, classCount: Int, capacity: Int) {
            crops = Tensor(shape: [capacity, inputCount])
            features = Tensor(shape: [capacity, featureWidth + CropReader.geometryCount])
            hidden = Tensor(shape: [capacity, hiddenWidth])
            probabilities = Tensor(shape: [capacity, classCount])
        }

        /// Row `index` of `crops`, for the crop sampler to fill.
        public func crop(_ index: Int) -> UnsafeMutableBufferPointer<Float> {
            let n = crops.shape[1]
            return UnsafeMutableBufferPointer(rebasing: crops.storage[(index * n)..<((index + 1) * n)])
        }

        /// The geometry values of row `index` (after its embedding).
        public func geometry(_ index: Int) -> UnsafeMutablePointer<Float> {
            features.matrix.row(index) + (features.shape[1] - CropReader.geometryCount)
        }

        /// The probabilities of row `index`.
        public func probabilities(_ index: Int) -> UnsafeBufferPointer<Float> {
            let k = probabilities.shape[1]
            return UnsafeBufferPointer(rebasing: probabilities.storage[(index * k)..<((index + 1) * k)])
        }
    }

    /// One lane's activations: the encoder's and, with a stem, the stem's.
    public final class LaneState: CropLane {
        let encoder: PatchEncoder.State
        let stem: ConvolutionalStem.State?
        /// This lane's sampling failure in the last `read`, read back after the lanes meet.
        var error: ImagingError?

        init(_ reader: CropReader) {
            encoder = PatchEncoder.State(reader.geometry)
            stem = reader.stem.map { ConvolutionalStem.State($0) }
        }
    }

    /// Per-lane activations, one per `Parallel` lane.
    public func lanes() -> [LaneState] {
        (0..<max(1, Parallel.lanes)).map { _ in LaneState(self) }
    }

    /// Reads the first `count` crops of `rows` (their crops and geometry already written),
    /// split over the lanes when there is more than one.
    public func read(_ rows: Rows, count: Int, lanes: [LaneState]) {
        // Nothing to sample, so nothing can fail.
        try? read(rows, count: count, lanes: lanes, sampling: Sampled())
    }

    /// Samples (with `sampling`) and reads the first `count` rows of `rows`, split over the lanes
    /// when there is more than one (`readCrops`).
    func read(_ rows: Rows, count: Int, lanes: [LaneState], sampling: some CropSampling) throws(ImagingError) {
        try readCrops(rows, count: count, lanes: lanes, sampling: sampling)
    }

    /// Rows whose crops are already written.
    private struct Sampled: CropSampling {
        func sample(_ index: Int, into rows: Rows) {}
    }

    /// Samples (with `sampling`) and reads row `index` of `rows` on the calling thread with
    /// `lane`'s activations: for lanes that share out the crops with other work by hand.
    func read(_ index: Int, of rows: Rows, lane: LaneState, sampling: some CropSampling) throws(ImagingError) {
        try sampling.sample(index, into: rows)
        readCrop(index, of: rows, lane: lane)
    }

    /// Reads the crop already sampled into row `index` of `rows`.
    func readCrop(_ index: Int, of rows: Rows, lane: LaneState) {
        let g = geometry
        let state = lane.encoder
        let crop = UnsafeBufferPointer(rebasing: rows.crops.storage[(index * g.inputCount)..<((index + 1) * g.inputCount)])
        if let stem, let stemState = lane.stem {
            stem.embedOnThisThread(crop, state: stemState)
            encoder.encodeOnThisThread(patchTokens: UnsafeBufferPointer(stemState.tokens.storage), state: state)
        } else {
            encoder.encodeOnThisThread(crop, state: state)
        }

        // feature = [class token, max over the patch tokens]
        let d = g.width
        let tokens = state.output.matrix.readOnly
        let feature = rows.features.matrix.rows(index..<(index + 1))
        let out = feature.row(0)
        out.update(from: tokens.row(0), count: d)
        let maxima = out + d
        maxima.update(from: tokens.row(1), count: d)
        for t in 2..<g.tokens {
            let row = tokens.row(t)
            for j in 0..<d where row[j] > maxima[j] { maxima[j] = row[j] }
        }
        let hiddenRow = rows.hidden.matrix.rows(index..<(index + 1))
        hidden.apply(feature.readOnly, into: hiddenRow, activation: .exact)
        let probabilities = rows.probabilities.matrix.rows(index..<(index + 1))
        output.apply(hiddenRow.readOnly, into: probabilities)
        let p = probabilities.row(0)
        for j in 0..<classCount { p[j] /= temperature }
        var start = 0
        for size in softmaxGroups {
            Softmax.applyRow(p + start, count: size)
            start += size
        }
    }
}
