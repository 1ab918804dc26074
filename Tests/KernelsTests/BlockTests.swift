import Kernels
import ModelArtifact
import Testing

/// Tolerance for a whole transformer block against PyTorch: about a dozen products, norms and
/// softmaxes in a row. Measured max-abs error ~1e-6 (NMSE ~5e-14) on these fixtures; atol = rtol
/// = 1e-5 keeps a 10× margin for other BLAS builds and summation orders while still catching a
/// dropped bias, a swapped LayerNorm affine or a wrong mask (each moves outputs by 1e-2 or more).
private let blockTolerance: Float = 1e-5

/// Pre-norm transformer blocks written with the kernels exactly as the engine will write them —
/// fused residual adds, one workspace sized by a plan, a KV cache filled one token at a time —
/// against the same blocks in PyTorch (scripts/make_kernel_fixtures.py). This is the check that
/// the op set is enough for the model, and that the ops compose without copies.
@Suite("Transformer blocks composed from the kernels")
struct BlockTests {
    /// The weights of one block, as views into the fixture file.
    struct Weights {
        let file: SafetensorsFile

        func matrix(_ name: String, _ rows: Int, _ columns: Int) throws -> MatrixRef {
            let t = try file.tensor("block.\(name)", shape: [rows, columns])
            return MatrixRef(t.values, rows: rows, columns: columns)
        }

        func vector(_ name: String, _ count: Int) throws -> UnsafeBufferPointer<Float> {
            try file.tensor("block.\(name)", shape: [count]).values
        }

        /// `y (+)= x · Wᵀ + b` for the `nn.Linear` called `name`.
        func linear(_ name: String, _ x: MatrixRef, into y: MutableMatrixRef, accumulate: Bool = false) throws {
            Matmul.linear(x, weight: try matrix("\(name).weight", y.columns, x.columns), bias: try vector("\(name).bias", y.columns),
                          into: y, accumulate: accumulate)
        }

        func layerNorm(_ name: String, _ x: MatrixRef, into y: MutableMatrixRef) throws {
            LayerNorm.apply(x, gamma: try vector("\(name).weight", x.columns), beta: try vector("\(name).bias", x.columns), eps: 1e-5, into: y)
        }
    }

    static func fixture(_ name: String) throws -> SafetensorsFile {
        try SafetensorsFile(path: Fixtures.folder.appendingPathComponent(name).path)
    }

    @Test("Encoder block (LN → fused qkv → attention → proj + residual → LN → MLP + residual) matches PyTorch")
    func encoderBlock() throws {
        let file = try Self.fixture("encoder_block.safetensors")
        let w = Weights(file: file)
        let (t, d, heads, hidden) = (9, 48, 4, 192)

        var plan = WorkspacePlan()
        plan.reserve(rows: t, columns: d)          // normed
        plan.reserve(rows: t, columns: 3 * d)      // qkv
        plan.reserve(rows: t, columns: d)          // attention output
        plan.reserve(Attention.scratchCount(queries: t, keys: t))
        plan.reserve(rows: t, columns: hidden)     // MLP hidden
        let workspace = Workspace(plan)

        let x = Tensor(shape: [t, d], values: Array(try file.tensor("x", shape: [t, d]).values))
        for pass in 0..<2 {
            if pass == 1 { _ = x.storage.update(fromContentsOf: try file.tensor("x").values) }
            workspace.reset()
            let stream = x.matrix
            let normed = workspace.take(rows: t, columns: d)
            let qkv = workspace.take(rows: t, columns: 3 * d)
            let attended = workspace.take(rows: t, columns: d)
            let scores = workspace.take(Attention.scratchCount(queries: t, keys: t))
            let hiddenRows = workspace.take(rows: t, columns: hidden)

            try w.layerNorm("ln1", stream.readOnly, into: normed)
            try w.linear("attn.qkv", normed.readOnly, into: qkv)
            Attention.selfAttention(qkv: qkv.readOnly, heads: heads, scores: scores, into: attended)
            try w.linear("attn.proj", attended.readOnly, into: stream, accumulate: true)
            try w.layerNorm("ln2", stream.readOnly, into: normed)
            try w.linear("mlp.fc1", normed.readOnly, into: hiddenRows)
            GELU.exact.apply(hiddenRows)
            try w.linear("mlp.fc2", hiddenRows.readOnly, into: stream, accumulate: true)

            expectClose(x.values, Array(try file.tensor("y").values), atol: blockTolerance, rtol: blockTolerance, "encoder block, pass \(pass)")
        }
        #expect(workspace.highWater == plan.capacity, "the plan is exact: nothing more is taken, nothing is left unused")
    }

    @Test("Decoder block fed one token at a time (KV cache, cross K/V once) matches PyTorch's full causal pass")
    func decoderBlockTokenByToken() throws {
        let file = try Self.fixture("decoder_block.safetensors")
        let w = Weights(file: file)
        let (t, s, d, heads, hidden) = (6, 5, 32, 4, 128)
        let input = Array(try file.tensor("x", shape: [t, d]).values)
        let expected = Array(try file.tensor("y", shape: [t, d]).values)
        let vis = try file.tensor("vis", shape: [s, d])

        // Once per frame: the cross-attention keys and values of the visual tokens.
        let crossKV = Tensor(shape: [s, 2 * d])
        try w.linear("cross.kv", MatrixRef(vis.values, rows: s, columns: d), into: crossKV.matrix)

        var plan = WorkspacePlan()
        plan.reserve(rows: 1, columns: d)        // normed
        plan.reserve(rows: 1, columns: 3 * d)    // qkv
        plan.reserve(rows: 1, columns: d)        // attention output / query
        plan.reserve(rows: 1, columns: d)        // cross-attention output
        plan.reserve(Attention.scratchCount(queries: 1, keys: max(t, s)))
        plan.reserve(rows: 1, columns: hidden)
        let workspace = Workspace(plan)
        let cache = KVCache(capacity: t, width: d)
        let token = Tensor(shape: [1, d])

        for caption in 0..<2 {
            cache.reset()
            for i in 0..<t {
                workspace.reset()
                _ = token.storage.update(fromContentsOf: input[(i * d)..<((i + 1) * d)])
                let x = token.matrix
                let normed = workspace.take(rows: 1, columns: d)
                let qkv = workspace.take(rows: 1, columns: 3 * d)
                let attended = workspace.take(rows: 1, columns: d)
                let crossed = workspace.take(rows: 1, columns: d)
                let scores = workspace.take(Attention.scratchCount(queries: 1, keys: max(t, s)))
                let hiddenRow = workspace.take(rows: 1, columns: hidden)

                try w.layerNorm("ln1", x.readOnly, into: normed)
                try w.linear("attn.qkv", normed.readOnly, into: qkv)
                Attention.causalSelfAttention(qkv: qkv.readOnly, cache: cache, heads: heads, scores: scores, into: attended)
                try w.linear("attn.proj", attended.readOnly, into: x, accumulate: true)

                try w.layerNorm("ln2", x.readOnly, into: normed)
                try w.linear("cross.q", normed.readOnly, into: attended)
                Attention.crossAttention(queries: attended.readOnly, keyValues: crossKV.matrix.readOnly, heads: heads, scores: scores, into: crossed)
                try w.linear("cross.proj", crossed.readOnly, into: x, accumulate: true)

                try w.layerNorm("ln3", x.readOnly, into: normed)
                try w.linear("mlp.fc1", normed.readOnly, into: hiddenRow)
                GELU.exact.apply(hiddenRow)
                try w.linear("mlp.fc2", hiddenRow.readOnly, into: x, accumulate: true)

                expectClose(token.values, Array(expected[(i * d)..<((i + 1) * d)]), atol: blockTolerance, rtol: blockTolerance,
                            "caption \(caption), token \(i)")
            }
            #expect(cache.count == t)
        }
        withExtendedLifetime(crossKV) {}
    }
}
