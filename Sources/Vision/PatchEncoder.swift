import Kernels

/// The shape of a ViT patch encoder. The scene encoder and the signal expert's crop reader are
/// the same kind of encoder at different sizes, so they share one implementation.
public struct EncoderGeometry: Sendable, Hashable {
    public var imageSize: Int
    public var patchSize: Int
    public var width: Int
    public var depth: Int
    public var heads: Int
    public var mlpWidth: Int
    public var useCls: Bool
    public var lnEps: Float

    public init(imageSize: Int, patchSize: Int, width: Int, depth: Int, heads: Int, mlpWidth: Int, useCls: Bool, lnEps: Float) {
        self.imageSize = imageSize
        self.patchSize = patchSize
        self.width = width
        self.depth = depth
        self.heads = heads
        self.mlpWidth = mlpWidth
        self.useCls = useCls
        self.lnEps = lnEps
    }

    public var grid: Int { imageSize / patchSize }
    public var patchCount: Int { grid * grid }
    /// The sequence: the class token (if any), then patches row by row.
    public var tokens: Int { patchCount + (useCls ? 1 : 0) }
    /// Values of one preprocessed input image (CHW).
    public var inputCount: Int { 3 * imageSize * imageSize }
    /// Multiply-adds ×2 of one pass: the linear layers and the attention products.
    public var flops: Int {
        let t = tokens, d = width
        let linear = patchCount * 3 * patchSize * patchSize * d + depth * t * (3 * d * d + d * d + 2 * d * mlpWidth)
        return 2 * (linear + depth * 2 * t * t * d)
    }
}

/// The ViT patch encoder: P×P patches embedded by a linear map (PyTorch's stride-P conv), a
/// class token, learned positions, pre-norm transformer blocks and a final layer norm.
///
/// Immutable and shared by every stream; the activations live in `PatchEncoder.State`.
public struct PatchEncoder: @unchecked Sendable {
    public let geometry: EncoderGeometry
    /// nil when the patch tokens come embedded already (`encode(patchTokens:state:)`: a
    /// `ConvolutionalStem` made them).
    let patchEmbedding: LinearWeights?
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

    /// Reads the weights named `prefix.patch_embed.weight`, `prefix.blocks.N...` (the PyTorch
    /// module names of training/lttw/model.py's `Encoder`); without `embedsPatches`, no patch
    /// embedding (its patch tokens come from elsewhere, `encode(patchTokens:state:)`).
    public init(_ source: some WeightSource, geometry a: EncoderGeometry, prefix: String = "encoder", embedsPatches: Bool = true) throws {
        geometry = a
        let d = a.width
        let patchValues = 3 * a.patchSize * a.patchSize
        if embedsPatches {
            // Conv2d weight [D, 3, P, P] read as [D, 3·P·P]: each output is a dot product with one patch.
            let kernel = try source.values("\(prefix).patch_embed.weight", shape: [d, 3, a.patchSize, a.patchSize])
            patchEmbedding = LinearWeights(
                weight: MatrixRef(kernel, rows: d, columns: patchValues),
                bias: try source.values("\(prefix).patch_embed.bias", shape: [d]))
        } else {
            patchEmbedding = nil
        }
        classToken = a.useCls ? try source.values("\(prefix).cls_token", shape: [1, 1, d]) : nil
        positions = MatrixRef(try source.values("\(prefix).pos_embed", shape: [1, a.tokens, d]), rows: a.tokens, columns: d)
        blocks = try (0..<a.depth).map { i in
            let p = "\(prefix).blocks.\(i)"
            return Block(
                norm1: try LayerNormWeights(source, "\(p).ln1", width: d, eps: a.lnEps),
                qkv: try LinearWeights(source, "\(p).attn.qkv", inputs: d, outputs: 3 * d),
                projection: try LinearWeights(source, "\(p).attn.proj", inputs: d, outputs: d),
                norm2: try LayerNormWeights(source, "\(p).ln2", width: d, eps: a.lnEps),
                up: try LinearWeights(source, "\(p).mlp.fc1", inputs: d, outputs: a.mlpWidth),
                down: try LinearWeights(source, "\(p).mlp.fc2", inputs: a.mlpWidth, outputs: d))
        }
        norm = try LayerNormWeights(source, "\(prefix).norm", width: d, eps: a.lnEps)
    }

    /// The scene encoder of a model's architecture.
    public init(_ source: some WeightSource, architecture a: ModelConfiguration.Architecture) throws {
        try self.init(source, geometry: a.encoderGeometry)
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

        public init(_ a: EncoderGeometry) {
            let t = a.tokens, d = a.width
            output = Tensor(shape: [t, d])
            patches = Tensor(shape: [a.patchCount, 3 * a.patchSize * a.patchSize])
            residual = Tensor(shape: [t, d])
            normed = Tensor(shape: [t, d])
            qkv = Tensor(shape: [t, 3 * d])
            attended = Tensor(shape: [t, d])
            hidden = Tensor(shape: [t, a.mlpWidth])
            scores = Tensor(shape: [Attention.scratchCount(queries: t, keys: t)])
        }

        public convenience init(_ a: ModelConfiguration.Architecture) {
            self.init(a.encoderGeometry)
        }
    }

    /// Encodes one preprocessed image (CHW float32, `3 × size × size`) into `state.output`.
    ///
    /// One dispatch over the kernel lanes (`Parallel`); each lane runs the single-threaded
    /// kernels on its share. The big projections (qkv, MLP up, with its GELU fused) split the
    /// weight's outputs on packed-panel boundaries, so each lane streams only its own panels; the
    /// small ones (patch embedding, attention output, MLP down) and everything row-wise (layer
    /// norms, attention) split the token rows, which lets a lane run several steps on its rows
    /// without waiting. The lanes meet at three barriers per block.
    public func encode(_ image: UnsafeBufferPointer<Float>, state: State) {
        precondition(image.count == geometry.inputCount, "PatchEncoder: image has \(image.count) values")
        precondition(patchEmbedding != nil, "PatchEncoder: built without a patch embedding, give it patch tokens")
        Parallel.run(Pass(encoder: self, input: .image(image), state: state))
    }

    /// Encodes patch tokens embedded elsewhere ([patches, width], row-major over the grid, before
    /// the class token and positions are added) into `state.output`, as `encode` does.
    public func encode(patchTokens: UnsafeBufferPointer<Float>, state: State) {
        precondition(patchTokens.count == geometry.patchCount * geometry.width, "PatchEncoder: \(patchTokens.count) patch token values")
        Parallel.run(Pass(encoder: self, input: .patchTokens(patchTokens), state: state))
    }

    /// What a pass starts from.
    enum Input {
        /// A preprocessed CHW image, embedded patch by patch.
        case image(UnsafeBufferPointer<Float>)
        /// Patch tokens already embedded.
        case patchTokens(UnsafeBufferPointer<Float>)
    }

    /// Encodes patch tokens embedded elsewhere (a crop reader's stem) on the calling thread alone.
    public func encodeOnThisThread(patchTokens: UnsafeBufferPointer<Float>, state: State) {
        precondition(patchTokens.count == geometry.patchCount * geometry.width, "PatchEncoder: \(patchTokens.count) patch token values")
        encode(.patchTokens(patchTokens), state: state, lane: .single)
    }

    /// Encodes one image on the calling thread alone: for many small inputs (the signal
    /// expert's crops), one per lane beats splitting each small pass across the lanes.
    public func encodeOnThisThread(_ image: UnsafeBufferPointer<Float>, state: State) {
        precondition(image.count == geometry.inputCount, "PatchEncoder: image has \(image.count) values")
        precondition(patchEmbedding != nil, "PatchEncoder: built without a patch embedding, give it patch tokens")
        encode(.image(image), state: state, lane: .single)
    }

    private struct Pass: ParallelWork {
        let encoder: PatchEncoder
        let input: Input
        let state: State

        func run(_ lane: Lane) {
            encoder.encode(input, state: state, lane: lane)
        }
    }

    /// `lane`'s share of `encode`.
    private func encode(_ input: Input, state: State, lane: Lane) {
        let a = geometry
        let d = a.width, s = a.tokens
        let rows = lane.part(s)
        let x = state.residual.matrix.rows(rows)
        let normed = state.normed.matrix.rows(rows)
        let attended = state.attended.matrix.rows(rows)
        let qkvColumns = lane.part(3 * d, granule: LinearWeights.columnGranule)
        let hiddenColumns = lane.part(a.mlpWidth, granule: LinearWeights.columnGranule)
        let scoreRows = Attention.scoreRowStride(keys: s)
        let scores = UnsafeMutableBufferPointer(
            rebasing: state.scores.storage[(rows.lowerBound * scoreRows)..<(rows.upperBound * scoreRows)])

        embed(input, rows: rows, state: state)
        blocks[0].norm1.apply(x.readOnly, into: normed)
        for (index, block) in blocks.enumerated() {
            lane.barrier()  // every row's normed input is ready
            block.qkv.outputs(qkvColumns).apply(
                state.normed.matrix.readOnly, into: state.qkv.matrix.columns(qkvColumns))
            lane.barrier()  // every row's keys and values are ready
            let qkv = state.qkv.matrix.readOnly
            Attention.attend(
                queries: qkv.rows(rows).columns(0..<d), keys: qkv.columns(d..<(2 * d)),
                values: qkv.columns((2 * d)..<(3 * d)), heads: a.heads, mask: .none, scores: scores, into: attended)
            block.projection.apply(attended.readOnly, into: x, accumulate: true)
            block.norm2.apply(x.readOnly, into: normed)
            lane.barrier()  // every row's normed input is ready
            let hidden = state.hidden.matrix.columns(hiddenColumns)
            block.up.outputs(hiddenColumns).apply(state.normed.matrix.readOnly, into: hidden, activation: .exact)
            lane.barrier()  // every hidden column is ready
            block.down.apply(state.hidden.matrix.readOnly.rows(rows), into: x, accumulate: true)
            if index + 1 < blocks.count {
                blocks[index + 1].norm1.apply(x.readOnly, into: normed)
            } else {
                norm.apply(x.readOnly, into: state.output.matrix.rows(rows))
            }
        }
    }

    /// Patch embedding, class token and positions for the token rows `rows`.
    private func embed(_ input: Input, rows: Range<Int>, state: State) {
        let a = geometry
        let first = a.useCls ? 1 : 0
        let x = state.residual.matrix
        let patchRows = max(rows.lowerBound, first) - first..<(max(rows.upperBound, first) - first)
        if !patchRows.isEmpty {
            let target = x.rows((patchRows.lowerBound + first)..<(patchRows.upperBound + first))
            switch input {
            case .image(let image):
                gatherPatches(image, patches: patchRows, into: state.patches.storage)
                patchEmbedding!.apply(state.patches.matrix.readOnly.rows(patchRows), into: target)
            case .patchTokens(let tokens):
                let given = MatrixRef(tokens, rows: a.patchCount, columns: a.width).rows(patchRows)
                for r in 0..<target.rows { target.row(r).update(from: given.row(r), count: a.width) }
            }
        }
        if let classToken, rows.contains(0) {
            x.row(0).update(from: classToken.baseAddress!, count: a.width)
        }
        Elementwise.add(positions.rows(rows), to: x.rows(rows))
    }

    /// im2col for non-overlapping patches: row n is patch n (row-major over the grid), its values
    /// in the conv kernel's order (channel, then row, then column within the patch). Writes the
    /// rows `patches` only.
    private func gatherPatches(
        _ image: UnsafeBufferPointer<Float>, patches: Range<Int>, into storage: UnsafeMutableBufferPointer<Float>
    ) {
        let a = geometry
        let size = a.imageSize, p = a.patchSize, grid = a.grid
        guard let source = image.baseAddress, let base = storage.baseAddress else { return }
        var target = base + patches.lowerBound * 3 * p * p
        for patch in patches {
            let gy = patch / grid, gx = patch % grid
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
