import Kernels
import Vision

/// The bridge from the encoder into the decoder's space. The patch grid is compressed by
/// average pooling (2×2 by default: 100 patches become 25 tokens, so cross-attention costs a
/// quarter), the class token is kept in front, and a GELU MLP maps the encoder width to the
/// decoder width.
public struct Projector: @unchecked Sendable {
    public let architecture: ModelConfiguration.Architecture
    let up: LinearWeights
    let down: LinearWeights

    public init(_ source: some WeightSource, architecture a: ModelConfiguration.Architecture) throws {
        architecture = a
        up = try LinearWeights(source, "projector.fc1", inputs: a.encWidth, outputs: a.decWidth)
        down = try LinearWeights(source, "projector.fc2", inputs: a.decWidth, outputs: a.decWidth)
    }

    public final class State {
        /// [visual tokens, decoder width]: what the decoder attends to.
        public let visualTokens: Tensor
        let pooled: Tensor
        let hidden: Tensor

        public init(_ a: ModelConfiguration.Architecture) {
            pooled = Tensor(shape: [a.visualTokens, a.encWidth])
            hidden = Tensor(shape: [a.visualTokens, a.decWidth])
            visualTokens = Tensor(shape: [a.visualTokens, a.decWidth])
        }
    }

    /// Projects `encoded` ([tokens, encoder width], class token first) into `state.visualTokens`.
    public func project(_ encoded: MatrixRef, state: State) {
        let a = architecture
        let d = a.encWidth, grid = a.grid, pool = a.pool, pooledGrid = grid / pool
        let pooled = state.pooled.matrix
        let first = a.useCls ? 1 : 0
        if a.useCls { pooled.row(0).update(from: encoded.row(0), count: d) }
        let scale = 1 / Float(pool * pool)
        for py in 0..<pooledGrid {
            for px in 0..<pooledGrid {
                let out = pooled.row(first + py * pooledGrid + px)
                out.update(repeating: 0, count: d)
                for dy in 0..<pool {
                    for dx in 0..<pool {
                        let token = encoded.row(first + (py * pool + dy) * grid + px * pool + dx)
                        for i in 0..<d { out[i] += token[i] }
                    }
                }
                for i in 0..<d { out[i] *= scale }
            }
        }
        up.apply(pooled.readOnly, into: state.hidden.matrix, activation: .exact)
        down.apply(state.hidden.matrix.readOnly, into: state.visualTokens.matrix)
    }
}
