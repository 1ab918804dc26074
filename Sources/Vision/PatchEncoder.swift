import Kernels

/// The ViT patch encoder: 16×16 patches embedded by a linear map (PyTorch's stride-16 conv),
/// a class token, learned positions, pre-norm transformer blocks and a final layer norm.
///
/// Immutable and shared by every stream; the activations live in `PatchEncoder.State`.
public struct PatchEncoder: @unchecked Sendable {
    public let architecture: ModelConfiguration.Architecture
    let patchEmbedding: LinearWeights
    let classToken: UnsafeBufferPointer<Float>?
    let positions: MatrixRef
    let blocks: [Block]
    let norm: LayerNormWeights

    struct Block {
        let norm1: LayerNormWeights
        let qkv: LinearWeights
        let projection: LinearWeights
        let norm2: LayerNormWeights
        let up: LinearWeights
        let down: LinearWeights
    }

    public init(_ source: some WeightSource, architecture a: ModelConfiguration.Architecture) throws {
        architecture = a
        let d = a.encWidth
        let patchValues = 3 * a.patchSize * a.patchSize
        // Conv2d weight [D, 3, P, P] read as [D, 3·P·P]: each output is a dot product with one patch.
        let kernel = try source.values("encoder.patch_embed.weight", shape: [d, 3, a.patchSize, a.patchSize])
        patchEmbedding = LinearWeights(
            weight: MatrixRef(kernel, rows: d, columns: patchValues),
            bias: try source.values("encoder.patch_embed.bias", shape: [d]))
        classToken = a.useCls ? try source.values("encoder.cls_token", shape: [1, 1, d]) : nil
        positions = MatrixRef(try source.values("encoder.pos_embed", shape: [1, a.encoderTokens, d]), rows: a.encoderTokens, columns: d)
        blocks = try (0..<a.encDepth).map { i in
            let p = "encoder.blocks.\(i)"
            return Block(
                norm1: try LayerNormWeights(source, "\(p).ln1", width: d, eps: a.lnEps),
                qkv: try LinearWeights(source, "\(p).attn.qkv", inputs: d, outputs: 3 * d),
                projection: try LinearWeights(source, "\(p).attn.proj", inputs: d, outputs: d),
                norm2: try LayerNormWeights(source, "\(p).ln2", width: d, eps: a.lnEps),
                up: try LinearWeights(source, "\(p).mlp.fc1", inputs: d, outputs: a.encMlpWidth),
                down: try LinearWeights(source, "\(p).mlp.fc2", inputs: a.encMlpWidth, outputs: d))
        }
        norm = try LayerNormWeights(source, "encoder.norm", width: d, eps: a.lnEps)
    }

    /// One stream's activations, sized once for the model's fixed sequence length.
    public final class State {
        /// The encoder's output: [tokens, width], class token first, then patches row by row.
        public let output: Tensor
        let patches: Tensor
        let residual: Tensor
        let normed: Tensor
        let qkv: Tensor
        let attended: Tensor
        let hidden: Tensor
        let scores: Tensor

        public init(_ a: ModelConfiguration.Architecture) {
            let t = a.encoderTokens, d = a.encWidth
            output = Tensor(shape: [t, d])
            patches = Tensor(shape: [a.patchCount, 3 * a.patchSize * a.patchSize])
            residual = Tensor(shape: [t, d])
            normed = Tensor(shape: [t, d])
            qkv = Tensor(shape: [t, 3 * d])
            attended = Tensor(shape: [t, d])
            hidden = Tensor(shape: [t, a.encMlpWidth])
            scores = Tensor(shape: [Attention.scratchCount(queries: t, keys: t)])
        }
    }

    /// Encodes one preprocessed image (CHW float32, `3 × size × size`) into `state.output`.
    public func encode(_ image: UnsafeBufferPointer<Float>, state: State) {
        let a = architecture
        precondition(image.count == 3 * a.imageSize * a.imageSize, "PatchEncoder: image has \(image.count) values")
        gatherPatches(image, into: state.patches.storage)

        let x = state.residual.matrix
        let first = a.useCls ? 1 : 0
        patchEmbedding.apply(state.patches.matrix.readOnly, into: x.rows(first..<a.encoderTokens))
        if let classToken {
            x.row(0).update(from: classToken.baseAddress!, count: a.encWidth)
        }
        Elementwise.add(positions, to: x)

        let normed = state.normed.matrix, qkv = state.qkv.matrix, attended = state.attended.matrix
        let hidden = state.hidden.matrix
        for block in blocks {
            block.norm1.apply(x.readOnly, into: normed)
            block.qkv.apply(normed.readOnly, into: qkv)
            Attention.selfAttention(qkv: qkv.readOnly, heads: a.encHeads, scores: state.scores.storage, into: attended)
            block.projection.apply(attended.readOnly, into: x, accumulate: true)
            block.norm2.apply(x.readOnly, into: normed)
            block.up.apply(normed.readOnly, into: hidden)
            GELU.exact.apply(hidden)
            block.down.apply(hidden.readOnly, into: x, accumulate: true)
        }
        norm.apply(x.readOnly, into: state.output.matrix)
    }

    /// im2col for non-overlapping patches: row n is patch n (row-major over the grid), its values
    /// in the conv kernel's order (channel, then row, then column within the patch).
    private func gatherPatches(_ image: UnsafeBufferPointer<Float>, into patches: UnsafeMutableBufferPointer<Float>) {
        let a = architecture
        let size = a.imageSize, p = a.patchSize, grid = a.grid
        guard let source = image.baseAddress, var target = patches.baseAddress else { return }
        for gy in 0..<grid {
            for gx in 0..<grid {
                for c in 0..<3 {
                    let plane = source + c * size * size
                    for py in 0..<p {
                        target.update(from: plane + (gy * p + py) * size + gx * p, count: p)
                        target += p
                    }
                }
            }
        }
    }
}
