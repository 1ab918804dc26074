#if canImport(Glibc)
import Glibc
#endif
import Kernels

/// Small heads on the encoder output that read the scene directly: the light (state, kind,
/// position), the crosswalk (presence, offset, heading) and obstacles by position.
///
/// Their input is the class token next to the mean (and max) of the patch tokens, and of the
/// left / ahead / right column bands where the model pools by region; a shared GELU trunk feeds
/// one linear layer per head. Probabilities are calibrated with the temperatures in config.json,
/// so 0.9 means right nine times in ten on the validation scenes.
public struct PerceptionHeads: @unchecked Sendable {
    public let configuration: ModelConfiguration
    let trunk: LinearWeights
    let outputs: [(name: String, weights: LinearWeights)]
    /// The grid columns of each pooled feature: all of them, then the left / ahead / right bands
    /// when the model pools by region. Built once, so a frame allocates nothing.
    let pools: [Range<Int>]

    public init(_ source: some WeightSource, configuration c: ModelConfiguration) throws {
        configuration = c
        let a = c.architecture
        let features = a.encWidth * a.headFeatureParts
        trunk = try LinearWeights(source, "heads.trunk", inputs: features, outputs: a.headHidden)
        pools = [0..<a.grid] + (a.headRegionPool == true ? a.columnBands : [])
        outputs = try c.headOrder.map { name in
            (name, try LinearWeights(source, "heads.out.\(name)", inputs: a.headHidden, outputs: c.heads[name]!.size))
        }
    }

    /// One stream's head activations and the latest calibrated probabilities.
    public final class State {
        let features: Tensor
        let hidden: Tensor
        /// Per head, in `configuration.headOrder`: calibrated probabilities (raw degrees for the heading).
        public let probabilities: [Tensor]

        public init(_ c: ModelConfiguration) {
            let a = c.architecture
            features = Tensor(shape: [1, a.encWidth * a.headFeatureParts])
            hidden = Tensor(shape: [1, a.headHidden])
            probabilities = c.headOrder.map { Tensor(shape: [1, c.heads[$0]!.size]) }
        }
    }

    /// Reads `encoded` ([tokens, width], class token first) into `state.probabilities`.
    public func run(_ encoded: MatrixRef, state: State) {
        let a = configuration.architecture
        let d = a.encWidth
        var out = state.features.storage.baseAddress!
        let first = a.useCls ? 1 : 0
        if a.useCls {
            out.update(from: encoded.row(0), count: d)
            out += d
        }
        for columns in pools {
            pool(encoded, first: first, columns: columns, mean: out, max: a.headMaxPool == true ? out + d : nil)
            out += a.headMaxPool == true ? 2 * d : d
        }

        trunk.apply(state.features.matrix.readOnly, into: state.hidden.matrix, activation: .exact)
        for (index, head) in outputs.enumerated() {
            let out = state.probabilities[index]
            head.weights.apply(state.hidden.matrix.readOnly, into: out.matrix)
            calibrate(head.name, out.storage)
        }
    }

    /// Mean (and max) over the patches in `columns` of the grid, written to `mean` and `max`.
    private func pool(
        _ encoded: MatrixRef, first: Int, columns: Range<Int>, mean: UnsafeMutablePointer<Float>,
        max: UnsafeMutablePointer<Float>?
    ) {
        let a = configuration.architecture
        let d = a.encWidth
        mean.update(repeating: 0, count: d)
        max?.update(repeating: -.infinity, count: d)
        for row in 0..<a.grid {
            for column in columns {
                let token = encoded.row(first + row * a.grid + column)
                for i in 0..<d { mean[i] += token[i] }
                if let max { for i in 0..<d where token[i] > max[i] { max[i] = token[i] } }
            }
        }
        let count = Float(a.grid * columns.count)
        for i in 0..<d { mean[i] /= count }
    }

    /// Logits to probabilities, as training/lttw/artifact.py's `Predictor.probs` does.
    private func calibrate(_ name: String, _ values: UnsafeMutableBufferPointer<Float>) {
        let temperature = configuration.calibration.temperatures[name] ?? 1
        switch name {
        case "crosswalk_heading":
            for i in values.indices { values[i] *= 30 }
        case "obstacles":
            for i in values.indices { values[i] = 1 / (1 + expf(-values[i] / temperature)) }
        case "obstacle_distance":
            let groups = configuration.distances.count
            for i in values.indices { values[i] /= temperature }
            var start = 0
            while start < values.count {
                Softmax.applyRow(values.baseAddress! + start, count: groups)
                start += groups
            }
        default:
            for i in values.indices { values[i] /= temperature }
            Softmax.applyRow(values.baseAddress!, count: values.count)
        }
    }
}
