import Imaging
import Kernels

/// A green verifier on MobileNetV2's first ImageNet layers (training/lttw/green_verifier.py's
/// `MobileNetVerifier`). The patch-reader verifier learned walk lamps from renders and a few
/// hundred real crops, and at its calibration's tail it is as sure of a green pharmacy cross as of
/// many real walk lamps; these layers were trained on a million real photographs first.
///
///     crop [3, S, S] -> MobileNetTrunk                                   tokens [grid², C]
///          -> per token GELU(Linear(C -> P)), flattened in grid order, then the geometry
///          -> GELU(Linear) -> Linear -> softmax(logits / temperature)
///
/// Each grid cell keeps its place (the lamp sits at the centre, the dark lamp of the other state
/// above or below it), as the obstacle expert's head does.
public struct MobileNetCropReader: SingleCropReading, @unchecked Sendable {
    public let trunk: MobileNetTrunk
    let tokenProjection: LinearWeights
    let hidden: LinearWeights
    let output: LinearWeights
    public let classCount: Int
    public let temperature: Float

    public init(
        _ source: some WeightSource, prefix: String, architecture a: SignalExpertConfiguration.MobileNetArchitecture, classCount: Int,
        temperature: Double
    ) throws {
        trunk = try MobileNetTrunk(source, prefix: prefix + "trunk", layers: a.trunkBlocks, imageSize: a.cropSize)
        tokenProjection = try LinearWeights(
            source, prefix + "token_proj", inputs: MobileNetTrunk.channels(layers: a.trunkBlocks), outputs: a.tokenFeatures)
        // Sized from the trunk's own grid, so a head that does not fit it fails here, naming the tensor.
        let cells = trunk.outputSize * trunk.outputSize
        hidden = try LinearWeights(
            source, prefix + "hidden", inputs: cells * a.tokenFeatures + CropReader.geometryCount, outputs: a.headHidden)
        output = try LinearWeights(source, prefix + "out", inputs: a.headHidden, outputs: classCount)
        self.classCount = classCount
        self.temperature = Float(temperature)
    }

    public var cropSize: Int { trunk.imageSize }
    var gridCells: Int { trunk.outputSize * trunk.outputSize }
    /// The flattened projected grid, before the geometry.
    public var featureWidth: Int { gridCells * tokenProjection.outputs }

    /// Rows for `capacity` crops, laid out as the patch reader's are.
    public func rows(capacity: Int) -> CropReader.Rows {
        CropReader.Rows(
            inputCount: 3 * cropSize * cropSize, featureWidth: featureWidth, hiddenWidth: hidden.outputs, classCount: classCount,
            capacity: capacity)
    }

    /// One lane's activations.
    public final class LaneState: CropLane {
        let trunk: MobileNetTrunk.State
        /// This lane's sampling failure in the last `read`, read back after the lanes meet.
        var error: ImagingError?

        init(_ reader: MobileNetCropReader) {
            trunk = MobileNetTrunk.State(reader.trunk)
        }
    }

    /// Per-lane activations, one per `Parallel` lane.
    public func lanes() -> [LaneState] {
        (0..<max(1, Parallel.lanes)).map { _ in LaneState(self) }
    }

    /// Samples (with `sampling`) and reads the first `count` rows of `rows`, the crops split
    /// round-robin over the lanes (each crop's trunk on one lane: a 64 px crop is too small a pass
    /// to split; `readCrops`).
    func read(_ rows: CropReader.Rows, count: Int, lanes: [LaneState], sampling: some CropSampling) throws(ImagingError) {
        try readCrops(rows, count: count, lanes: lanes, sampling: sampling)
    }

    /// Reads the crop already sampled into row `index` of `rows`.
    func readCrop(_ index: Int, of rows: CropReader.Rows, lane: LaneState) {
        let n = 3 * cropSize * cropSize
        trunk.runOnThisThread(UnsafeBufferPointer(rebasing: rows.crops.storage[(index * n)..<((index + 1) * n)]), state: lane.trunk)
        // The projected grid, row-major, fills the feature row before its geometry (PyTorch's flatten(1)).
        let feature = rows.features.matrix.row(index)
        tokenProjection.apply(
            lane.trunk.tokens(trunk), into: MutableMatrixRef(feature, rows: gridCells, columns: tokenProjection.outputs), activation: .exact)
        let hiddenRow = rows.hidden.matrix.rows(index..<(index + 1))
        hidden.apply(rows.features.matrix.rows(index..<(index + 1)).readOnly, into: hiddenRow, activation: .exact)
        let probabilities = rows.probabilities.matrix.rows(index..<(index + 1))
        output.apply(hiddenRow.readOnly, into: probabilities)
        let p = probabilities.row(0)
        for j in 0..<classCount { p[j] /= temperature }
        Softmax.applyRow(p, count: classCount)
    }
}
