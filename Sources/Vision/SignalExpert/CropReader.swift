import Kernels

/// A small ViT that reads square crops of one candidate: the signal expert's reader (32×32, six
/// classes) and its green verifier (64×64, green or not). Mirrors training/lttw/signal_model.py's
/// `SignalReader`:
///
///     crop -> PatchEncoder -> feature = [class token, max over patch tokens]
///          -> fc2(GELU(fc1([feature, geometry]))) -> softmax(logits / temperature)
public struct CropReader: @unchecked Sendable {
    public let encoder: PatchEncoder
    public let geometry: EncoderGeometry
    public let classCount: Int
    public let temperature: Float
    let hidden: LinearWeights
    let output: LinearWeights

    /// The candidate's geometry values the head reads (lamps.GEOMETRY): centre x, centre y,
    /// width, height as fractions of the frame, and 1 for the whole-frame candidate.
    public static let geometryCount = 5

    public init(
        _ source: some WeightSource, geometry g: EncoderGeometry, prefix: String, headHidden: Int, classCount: Int,
        temperature: Double
    ) throws {
        geometry = g
        self.classCount = classCount
        self.temperature = Float(temperature)
        encoder = try PatchEncoder(source, geometry: g, prefix: prefix + "encoder")
        hidden = try LinearWeights(source, prefix + "fc1", inputs: 2 * g.width + Self.geometryCount, outputs: headHidden)
        output = try LinearWeights(source, prefix + "fc2", inputs: headHidden, outputs: classCount)
    }

    /// Size of one candidate embedding: the class token and its max over patches.
    public var featureWidth: Int { 2 * geometry.width }

    /// Multiply-adds ×2 of reading one crop.
    public var flopsPerCrop: Int {
        geometry.flops + 2 * hidden.weight.rows * (featureWidth + Self.geometryCount + classCount)
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

        public init(_ reader: CropReader, capacity: Int) {
            crops = Tensor(shape: [capacity, reader.geometry.inputCount])
            features = Tensor(shape: [capacity, reader.featureWidth + CropReader.geometryCount])
            hidden = Tensor(shape: [capacity, reader.hidden.weight.rows])
            probabilities = Tensor(shape: [capacity, reader.classCount])
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

    /// Per-lane encoder activations, one per `Parallel` lane.
    public func lanes() -> [PatchEncoder.State] {
        (0..<max(1, Parallel.lanes)).map { _ in PatchEncoder.State(geometry) }
    }

    /// Reads the first `count` crops of `rows` (their geometry already written), split over the
    /// lanes when there is more than one.
    public func read(_ rows: Rows, count: Int, lanes: [PatchEncoder.State]) {
        guard count > 0 else { return }
        let work = Work(reader: self, rows: rows, lanes: lanes, count: count)
        if Parallel.lanes > 1, Parallel.lanes <= lanes.count, count > 1 {
            Parallel.run(work)
        } else {
            work.run(.single)
        }
    }

    /// Crops split round-robin over the lanes; each lane reads its crops alone (a crop is too
    /// small a pass to split).
    private struct Work: ParallelWork {
        let reader: CropReader
        let rows: Rows
        let lanes: [PatchEncoder.State]
        let count: Int

        func run(_ lane: Lane) {
            let encoderState = lanes[lane.index]
            var index = lane.index
            while index < count {
                reader.readCrop(index, of: rows, encoder: encoderState)
                index += lane.count
            }
        }
    }

    /// Reads the crop already sampled into row `index` of `rows`.
    private func readCrop(_ index: Int, of rows: Rows, encoder state: PatchEncoder.State) {
        let g = geometry
        let crop = UnsafeBufferPointer(rebasing: rows.crops.storage[(index * g.inputCount)..<((index + 1) * g.inputCount)])
        encoder.encodeOnThisThread(crop, state: state)

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
        Softmax.applyRow(p, count: classCount)
    }
}
