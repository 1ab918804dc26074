import Kernels
import Testing

/// Attention is two products and a softmax in a row; the products' tolerance applies
/// (atol = rtol = 1e-5, see MatmulTests).
private let attentionTolerance: Float = 1e-5

@Suite("Attention and KV cache")
struct AttentionTests {
    static let width = 48, heads = 4

    /// Runs `body` with a scratch buffer big enough for `t` x `s` scores.
    func withScores<R>(_ t: Int, _ s: Int, _ body: (UnsafeMutableBufferPointer<Float>) -> R) -> R {
        let scratch = Tensor(shape: [Attention.scratchCount(queries: t, keys: s)])
        return body(scratch.storage)
    }

    @Test("Bidirectional self-attention over a fused qkv matches PyTorch")
    func selfAttentionMatchesPyTorch() throws {
        let qkv = try Fixtures.tensor("attn_qkv", [9, 3 * Self.width])
        let out = Tensor(shape: [9, Self.width])
        withScores(9, 9) { Attention.selfAttention(qkv: qkv.matrix.readOnly, heads: Self.heads, scores: $0, into: out.matrix) }
        expectClose(out.values, try Fixtures.floats("attn_self"), atol: attentionTolerance, rtol: attentionTolerance, "self")
    }

    @Test("Causal attention of a whole prompt matches PyTorch's masked_fill(tril) version")
    func causalPromptMatchesPyTorch() throws {
        let qkvTensor = try Fixtures.tensor("attn_qkv", [9, 3 * Self.width])
        defer { withExtendedLifetime(qkvTensor) {} }
        let qkv = qkvTensor.matrix.readOnly
        let d = Self.width
        let out = Tensor(shape: [9, d])
        withScores(9, 9) {
            Attention.attend(queries: qkv.columns(0..<d), keys: qkv.columns(d..<(2 * d)), values: qkv.columns((2 * d)..<(3 * d)),
                             heads: Self.heads, mask: .causal, scores: $0, into: out.matrix)
        }
        expectClose(out.values, try Fixtures.floats("attn_causal"), atol: attentionTolerance, rtol: attentionTolerance, "causal")
    }

    @Test("KV cache: a 6-token prompt then 3 tokens at once matches PyTorch's tril(S - T) mask")
    func cachedTailMatchesPyTorch() throws {
        let qkvTensor = try Fixtures.tensor("attn_qkv", [9, 3 * Self.width])
        defer { withExtendedLifetime(qkvTensor) {} }
        let qkv = qkvTensor.matrix.readOnly
        let cache = KVCache(capacity: 16, width: Self.width)
        let prompt = Tensor(shape: [6, Self.width]), tail = Tensor(shape: [3, Self.width])
        withScores(6, 9) { scores in
            Attention.causalSelfAttention(qkv: qkv.rows(0..<6), cache: cache, heads: Self.heads, scores: scores, into: prompt.matrix)
            Attention.causalSelfAttention(qkv: qkv.rows(6..<9), cache: cache, heads: Self.heads, scores: scores, into: tail.matrix)
        }
        #expect(cache.count == 9)
        let full = try Fixtures.floats("attn_causal")
        expectClose(prompt.values, Array(full[0..<(6 * Self.width)]), atol: attentionTolerance, rtol: attentionTolerance, "prompt")
        expectClose(tail.values, try Fixtures.floats("attn_causal_tail"), atol: attentionTolerance, rtol: attentionTolerance, "tail")
    }

    @Test("Score rows start on a 64-byte line, so a class token's odd row never straddles two")
    func scoreRowsAreLineAligned() {
        #expect(Attention.scoreRowStride(keys: 64) == 64)
        #expect(Attention.scoreRowStride(keys: 65) == 80)
        #expect(Attention.scoreRowStride(keys: 257) == 272)
        #expect(Attention.scoreRowStride(keys: 1) == 16)
        #expect(Attention.scratchCount(queries: 65, keys: 65) == 65 * 80)
    }

    @Test("KV cache: one token at a time gives every row of the full causal pass")
    func tokenByTokenDecoding() throws {
        let qkvTensor = try Fixtures.tensor("attn_qkv", [9, 3 * Self.width])
        defer { withExtendedLifetime(qkvTensor) {} }
        let qkv = qkvTensor.matrix.readOnly
        let expected = try Fixtures.floats("attn_causal")
        let cache = KVCache(capacity: 9, width: Self.width)
        let out = Tensor(shape: [1, Self.width])
        let scratch = Tensor(shape: [Attention.scratchCount(queries: 1, keys: 9)])
        for i in 0..<9 {
            Attention.causalSelfAttention(qkv: qkv.rows(i..<(i + 1)), cache: cache, heads: Self.heads, scores: scratch.storage, into: out.matrix)
            expectClose(out.values, Array(expected[(i * Self.width)..<((i + 1) * Self.width)]),
                        atol: attentionTolerance, rtol: attentionTolerance, "token \(i)")
        }
        #expect(cache.count == 9 && cache.keys.rows == 9)
    }

    @Test("KV cache: reset and truncate move the count only; re-decoding gives the same result")
    func cacheBookkeeping() throws {
        let qkvTensor = try Fixtures.tensor("attn_qkv", [9, 3 * Self.width])
        defer { withExtendedLifetime(qkvTensor) {} }
        let qkv = qkvTensor.matrix.readOnly
        let d = Self.width
        let cache = KVCache(capacity: 9, width: d)
        cache.append(keys: qkv.columns(d..<(2 * d)), values: qkv.columns((2 * d)..<(3 * d)))
        let keyBase = cache.keys.base
        cache.truncate(to: 4)
        #expect(cache.count == 4 && cache.keys.rows == 4 && cache.values.rows == 4)
        #expect(cache.keys.base == keyBase)
        let out = Tensor(shape: [1, d])
        withScores(1, 5) { Attention.causalSelfAttention(qkv: qkv.rows(4..<5), cache: cache, heads: Self.heads, scores: $0, into: out.matrix) }
        let expected = try Fixtures.floats("attn_causal")
        expectClose(out.values, Array(expected[(4 * d)..<(5 * d)]), atol: attentionTolerance, rtol: attentionTolerance, "after truncate")
        cache.reset()
        #expect(cache.count == 0 && cache.keys.rows == 0)
    }

    @Test("Cross-attention against a fused [S, 2D] key/value projection matches PyTorch")
    func crossAttentionMatchesPyTorch() throws {
        let q = try Fixtures.tensor("attn_xq", [5, Self.width])
        let kv = try Fixtures.tensor("attn_kv", [11, 2 * Self.width])
        let out = Tensor(shape: [5, Self.width])
        withScores(5, 11) {
            Attention.crossAttention(queries: q.matrix.readOnly, keyValues: kv.matrix.readOnly, heads: Self.heads, scores: $0, into: out.matrix)
        }
        expectClose(out.values, try Fixtures.floats("attn_cross"), atol: attentionTolerance, rtol: attentionTolerance, "cross")
    }

    @Test("Attention matches the Double reference for ViT- and decoder-like sizes", arguments: [
        (t: 101, s: 101, d: 192, heads: 3, causal: false),  // ViT block: BLAS products
        (t: 65, s: 65, d: 64, heads: 2, causal: false),     // crop reader: class token and 64 patches
        (t: 257, s: 257, d: 96, heads: 3, causal: false),   // obstacle expert: class token and 256 patches
        (t: 1, s: 26, d: 128, heads: 4, causal: false),     // decoder cross-attention, one token
        (t: 1, s: 40, d: 128, heads: 4, causal: true),      // decoder self-attention, one token
        (t: 12, s: 12, d: 128, heads: 4, causal: true),     // prompt
        (t: 3, s: 7, d: 30, heads: 5, causal: true),        // odd head width
    ])
    func matchesReference(t: Int, s: Int, d: Int, heads: Int, causal: Bool) {
        var random = SeededRandom(seed: UInt64(t * 1000 + s))
        let q = random.tensor([t, d], scale: 2), k = random.tensor([s, d], scale: 2), v = random.tensor([s, d])
        let out = Tensor(shape: [t, d])
        withScores(t, s) {
            Attention.attend(queries: q.matrix.readOnly, keys: k.matrix.readOnly, values: v.matrix.readOnly,
                             heads: heads, mask: causal ? .causal : .none, scores: $0, into: out.matrix)
        }
        let expected = Reference.attention(q: q.values, k: k.values, v: v.values, t: t, s: s, d: d, heads: heads, causal: causal)
        expectClose(out.values, expected, atol: attentionTolerance, rtol: attentionTolerance, "t=\(t) s=\(s) d=\(d) h=\(heads)")
    }
}
