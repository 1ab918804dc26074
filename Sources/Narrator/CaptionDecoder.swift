import Kernels
import Vision

/// The GPT-2-style language decoder: token and position embeddings, pre-norm blocks of causal
/// self-attention, cross-attention to the frame's visual tokens and a GELU MLP, a final layer
/// norm and an output layer tied to the token embeddings.
///
/// Per frame, each layer's cross-attention keys and values are projected once (`prepare`), then
/// only read while tokens are generated; self-attention keys and values go to a KV cache, so each
/// new token costs one row of work per layer.
public struct CaptionDecoder: @unchecked Sendable {
    public let architecture: ModelConfiguration.Architecture
    let tokenEmbedding: MatrixRef
    let positionEmbedding: MatrixRef
    let blocks: [Block]
    let finalNorm: LayerNormWeights
    let output: LinearWeights

    struct Block {
        let norm1: LayerNormWeights
        let qkv: LinearWeights
        let projection: LinearWeights
        let norm2: LayerNormWeights
        let crossQuery: LinearWeights
        let crossKeyValue: LinearWeights
        let crossProjection: LinearWeights
        let norm3: LayerNormWeights
        let up: LinearWeights
        let down: LinearWeights
    }

    public init(_ source: some WeightSource, architecture a: ModelConfiguration.Architecture) throws {
        architecture = a
        let d = a.decWidth
        tokenEmbedding = MatrixRef(try source.values("decoder.wte.weight", shape: [a.vocabSize, d]), rows: a.vocabSize, columns: d)
        positionEmbedding = MatrixRef(try source.values("decoder.wpe.weight", shape: [a.decMaxLen, d]), rows: a.decMaxLen, columns: d)
        blocks = try (0..<a.decDepth).map { i in
            let p = "decoder.blocks.\(i)"
            return Block(
                norm1: try LayerNormWeights(source, "\(p).ln1", width: d, eps: a.lnEps),
                qkv: try LinearWeights(source, "\(p).attn.qkv", inputs: d, outputs: 3 * d),
                projection: try LinearWeights(source, "\(p).attn.proj", inputs: d, outputs: d),
                norm2: try LayerNormWeights(source, "\(p).ln2", width: d, eps: a.lnEps),
                crossQuery: try LinearWeights(source, "\(p).cross.q", inputs: d, outputs: d),
                crossKeyValue: try LinearWeights(source, "\(p).cross.kv", inputs: d, outputs: 2 * d),
                crossProjection: try LinearWeights(source, "\(p).cross.proj", inputs: d, outputs: d),
                norm3: try LayerNormWeights(source, "\(p).ln3", width: d, eps: a.lnEps),
                up: try LinearWeights(source, "\(p).mlp.fc1", inputs: d, outputs: a.decMlpWidth),
                down: try LinearWeights(source, "\(p).mlp.fc2", inputs: a.decMlpWidth, outputs: d))
        }
        finalNorm = try LayerNormWeights(source, "decoder.ln_f", width: d, eps: a.lnEps)
        output = a.tieLmHead
            ? LinearWeights(weight: tokenEmbedding, bias: nil)
            : try LinearWeights(source, "decoder.lm_head", inputs: d, outputs: a.vocabSize, bias: false)
    }

    /// The longest prompt fed in one call (<bos> and the language token).
    static let maxPromptTokens = 2

    /// One stream's decoding state: per-frame cross keys/values, the KV caches and scratch, all
    /// sized at creation for the longest caption the model allows.
    public final class State {
        let crossKeyValues: [Tensor]
        let caches: [KVCache]
        let residual: Tensor
        let normed: Tensor
        let qkv: Tensor
        let attended: Tensor
        let query: Tensor
        let hidden: Tensor
        let scores: Tensor
        /// The logits of the last token fed: [vocabulary].
        public let logits: Tensor
        /// Tokens fed so far (the next token's position).
        public private(set) var position = 0

        public init(_ a: ModelConfiguration.Architecture) {
            let d = a.decWidth, rows = CaptionDecoder.maxPromptTokens
            crossKeyValues = (0..<a.decDepth).map { _ in Tensor(shape: [a.visualTokens, 2 * d]) }
            caches = (0..<a.decDepth).map { _ in KVCache(capacity: a.decMaxLen, width: d) }
            residual = Tensor(shape: [rows, d])
            normed = Tensor(shape: [rows, d])
            qkv = Tensor(shape: [rows, 3 * d])
            attended = Tensor(shape: [rows, d])
            query = Tensor(shape: [rows, d])
            hidden = Tensor(shape: [rows, a.decMlpWidth])
            scores = Tensor(shape: [max(
                Attention.scratchCount(queries: rows, keys: a.decMaxLen),
                Attention.scratchCount(queries: rows, keys: a.visualTokens))])
            logits = Tensor(shape: [1, a.vocabSize])
        }

        func restart() {
            position = 0
            for cache in caches { cache.reset() }
        }

        func advance(by count: Int) { position += count }
    }

    /// Projects a frame's visual tokens into every layer's cross-attention keys and values and
    /// empties the self-attention caches: call once per frame, before `feed`.
    public func prepare(visualTokens: MatrixRef, state: State) {
        for (block, keyValues) in zip(blocks, state.crossKeyValues) {
            block.crossKeyValue.apply(visualTokens, into: keyValues.matrix)
        }
        state.restart()
    }

    /// Feeds tokens at the next positions and leaves the last one's logits in `state.logits`.
    public func feed(_ tokens: some Collection<Int32>, state: State) {
        let a = architecture
        let count = tokens.count
        precondition(count >= 1 && count <= Self.maxPromptTokens, "CaptionDecoder.feed: \(count) tokens at once")
        precondition(state.position + count <= a.decMaxLen, "CaptionDecoder.feed: past the \(a.decMaxLen)-token limit")
        let d = a.decWidth
        let x = state.residual.matrix.rows(0..<count)
        for (row, token) in tokens.enumerated() {
            let out = x.row(row)
            let embedding = tokenEmbedding.row(Int(token))
            let place = positionEmbedding.row(state.position + row)
            for i in 0..<d { out[i] = embedding[i] + place[i] }
        }
        let normed = state.normed.matrix.rows(0..<count)
        let qkv = state.qkv.matrix.rows(0..<count)
        let attended = state.attended.matrix.rows(0..<count)
        let query = state.query.matrix.rows(0..<count)
        let hidden = state.hidden.matrix.rows(0..<count)
        for (index, block) in blocks.enumerated() {
            block.norm1.apply(x.readOnly, into: normed)
            block.qkv.apply(normed.readOnly, into: qkv)
            Attention.causalSelfAttention(
                qkv: qkv.readOnly, cache: state.caches[index], heads: a.decHeads, scores: state.scores.storage, into: attended)
            block.projection.apply(attended.readOnly, into: x, accumulate: true)
            block.norm2.apply(x.readOnly, into: normed)
            block.crossQuery.apply(normed.readOnly, into: query)
            Attention.crossAttention(
                queries: query.readOnly, keyValues: state.crossKeyValues[index].matrix.readOnly, heads: a.decHeads,
                scores: state.scores.storage, into: attended)
            block.crossProjection.apply(attended.readOnly, into: x, accumulate: true)
            block.norm3.apply(x.readOnly, into: normed)
            block.up.apply(normed.readOnly, into: hidden)
            GELU.exact.apply(hidden)
            block.down.apply(hidden.readOnly, into: x, accumulate: true)
        }
        let last = normed.rows((count - 1)..<count)
        finalNorm.apply(x.readOnly.rows((count - 1)..<count), into: last)
        output.apply(last.readOnly, into: state.logits.matrix)
        state.advance(by: count)
    }
}

extension CaptionDecoder.State {
    /// Starts a new caption for the same frame (the cross-attention keys and values stay).
    public func restartCaption() { restart() }
}
