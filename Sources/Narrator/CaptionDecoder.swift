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
    /// sized at creation for the longest caption the model allows and the widest beam asked for.
    public final class State {
        let crossKeyValues: [Tensor]
        /// `caches[layer][slot]`: greedy decoding uses slot 0; beam search one slot per live beam.
        let caches: [[KVCache]]
        let residual: Tensor
        let normed: Tensor
        let qkv: Tensor
        let attended: Tensor
        let query: Tensor
        let hidden: Tensor
        let scores: Tensor
        /// Logits, one row per sequence fed: row 0 holds the last token's after a prompt or a
        /// greedy step; row i holds beam i's after a beam step.
        public let logits: Tensor
        /// The tokens of one `feed(token:)` call.
        let token: UnsafeMutableBufferPointer<Int32>
        /// The widest beam this state can search.
        public let beamCapacity: Int
        /// The tokens a frame's memory holds (`prepare`).
        public var memoryTokens: Int { crossKeyValues[0].shape[0] }
        let beams: BeamScratch
        /// Tokens fed so far (the next token's position).
        public private(set) var position = 0

        /// A state for greedy decoding and beam search up to `beamCapacity` beams, attending to
        /// `memoryTokens` tokens a frame (nil: the scene's visual tokens alone;
        /// `ModelConfiguration.decoderMemoryTokens` with the experts' fusion).
        public init(_ a: ModelConfiguration.Architecture, beamCapacity: Int = 1, memoryTokens: Int? = nil) {
            precondition(beamCapacity >= 1, "CaptionDecoder.State: beam capacity \(beamCapacity)")
            let d = a.decWidth, rows = max(CaptionDecoder.maxPromptTokens, beamCapacity)
            let memory = memoryTokens ?? a.visualTokens
            self.beamCapacity = beamCapacity
            crossKeyValues = (0..<a.decDepth).map { _ in Tensor(shape: [memory, 2 * d]) }
            caches = (0..<a.decDepth).map { _ in
                (0..<beamCapacity).map { _ in KVCache(capacity: a.decMaxLen, width: d) }
            }
            residual = Tensor(shape: [rows, d])
            normed = Tensor(shape: [rows, d])
            qkv = Tensor(shape: [rows, 3 * d])
            attended = Tensor(shape: [rows, d])
            query = Tensor(shape: [rows, d])
            hidden = Tensor(shape: [rows, a.decMlpWidth])
            scores = Tensor(shape: [max(
                Attention.scratchCount(queries: rows, keys: a.decMaxLen),
                Attention.scratchCount(queries: rows, keys: memory))])
            logits = Tensor(shape: [rows, a.vocabSize])
            token = .allocate(capacity: 1)
            token.initialize(repeating: 0)
            beams = BeamScratch(width: beamCapacity, maxLength: a.decMaxLen)
        }

        deinit { token.deallocate() }

        /// The logits of row `row` of the last `feed`.
        public func logits(row: Int) -> UnsafeBufferPointer<Float> {
            let v = logits.shape[1]
            return UnsafeBufferPointer(rebasing: logits.storage[(row * v)..<((row + 1) * v)])
        }

        func restart() {
            position = 0
            for layer in caches { for cache in layer { cache.reset() } }
        }

        func advance(by count: Int) { position += count }
    }

    /// Projects a frame's visual tokens (the scene's, then the experts' when fused) into every
    /// layer's cross-attention keys and values and empties the self-attention caches: call once
    /// per frame, before `feed`.
    public func prepare(visualTokens: MatrixRef, state: State) {
        precondition(visualTokens.rows == state.memoryTokens, "CaptionDecoder.prepare: \(visualTokens.rows) tokens for a state made for \(state.memoryTokens)")
        for (block, keyValues) in zip(blocks, state.crossKeyValues) {
            block.crossKeyValue.apply(visualTokens, into: keyValues.matrix)
        }
        state.restart()
    }

    /// Feeds one token at the next position of the sequence in cache slot 0 and leaves its
    /// logits in row 0 of `state.logits`.
    public func feed(token: Int32, state: State) {
        state.token[0] = token
        feed(UnsafeBufferPointer(state.token), state: state)
    }

    /// Feeds tokens at the next positions of the sequence in cache slot 0 (a prompt) and leaves
    /// the last one's logits in row 0 of `state.logits`.
    public func feed(_ tokens: UnsafeBufferPointer<Int32>, state: State) {
        feed(tokens, slots: nil, state: state)
    }

    /// Feeds one token for each of several sequences at the same next position: token `i`
    /// continues the sequence in cache slot `slots[i]`, and its logits go to row `i` of
    /// `state.logits`. Beam search's step: the beams share every matrix product and the
    /// cross-attention, and each attends to its own cache.
    public func feed(_ tokens: UnsafeBufferPointer<Int32>, slots: UnsafeBufferPointer<Int32>, state: State) {
        feed(tokens, slots: Optional(slots), state: state)
    }

    private func feed(_ tokens: UnsafeBufferPointer<Int32>, slots: UnsafeBufferPointer<Int32>?, state: State) {
        let a = architecture
        let count = tokens.count
        let rows = state.residual.shape[0]
        precondition(count >= 1 && count <= rows, "CaptionDecoder.feed: \(count) tokens at once (at most \(rows))")
        let positions = slots == nil ? count : 1
        precondition(state.position + positions <= a.decMaxLen, "CaptionDecoder.feed: past the \(a.decMaxLen)-token limit")
        if let slots {
            precondition(slots.count == count, "CaptionDecoder.feed: \(count) tokens for \(slots.count) slots")
        }
        let d = a.decWidth
        let x = state.residual.matrix.rows(0..<count)
        for row in 0..<count {
            let out = x.row(row)
            let embedding = tokenEmbedding.row(Int(tokens[row]))
            let place = positionEmbedding.row(state.position + (slots == nil ? row : 0))
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
            if let slots {
                for row in 0..<count {
                    Attention.causalSelfAttention(
                        qkv: qkv.readOnly.rows(row..<(row + 1)), cache: state.caches[index][Int(slots[row])],
                        heads: a.decHeads, scores: state.scores.storage, into: attended.rows(row..<(row + 1)))
                }
            } else {
                Attention.causalSelfAttention(
                    qkv: qkv.readOnly, cache: state.caches[index][0], heads: a.decHeads, scores: state.scores.storage,
                    into: attended)
            }
            block.projection.apply(attended.readOnly, into: x, accumulate: true)
            block.norm2.apply(x.readOnly, into: normed)
            block.crossQuery.apply(normed.readOnly, into: query)
            Attention.crossAttention(
                queries: query.readOnly, keyValues: state.crossKeyValues[index].matrix.readOnly, heads: a.decHeads,
                scores: state.scores.storage, into: attended)
            block.crossProjection.apply(attended.readOnly, into: x, accumulate: true)
            block.norm3.apply(x.readOnly, into: normed)
            block.up.apply(normed.readOnly, into: hidden, activation: .exact)
            block.down.apply(hidden.readOnly, into: x, accumulate: true)
        }
        if slots == nil {
            let last = normed.rows((count - 1)..<count)
            finalNorm.apply(x.readOnly.rows((count - 1)..<count), into: last)
            output.apply(last.readOnly, into: state.logits.matrix.rows(0..<1))
        } else {
            finalNorm.apply(x.readOnly, into: normed)
            output.apply(normed.readOnly, into: state.logits.matrix.rows(0..<count))
        }
        state.advance(by: positions)
    }

    /// Copies the cached keys and values of slot `source` into slot `target`, every layer: a
    /// beam that continues another beam's sequence in a different slot.
    func copyCaches(from source: Int, to target: Int, state: State) {
        for layer in state.caches { layer[target].copy(from: layer[source]) }
    }
}

extension CaptionDecoder.State {
    /// Starts a new caption for the same frame (the cross-attention keys and values stay).
    public func restartCaption() { restart() }
}
