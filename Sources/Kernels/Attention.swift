/// Scaled dot-product multi-head attention, `softmax(Q·Kᵀ / √d_head [+ mask]) · V` per head, heads
/// split on the last dimension — the layout of PyTorch's `view(B, T, H, D/H).transpose(1, 2)`.
///
/// Queries, keys and values are matrix views, so they can be column slices of a fused `qkv` or
/// `kv` projection and heads are column slices of those: nothing is transposed or copied. The
/// only scratch is one [queries, keys] score matrix, reused head after head.
public enum Attention {
    /// Which keys each query may see.
    public enum Mask: Sendable, Equatable {
        /// Every key (the ViT encoder, cross-attention).
        case none
        /// Query `i` of `T` sits at position `S - T + i` of the `S` keys and sees keys up to and
        /// including that position — PyTorch's `tril(S - T)`, which is the plain causal mask for a
        /// prompt (S = T) and "everything cached so far" for one new token (T = 1).
        case causal
    }

    /// Scratch values `attend` needs for `queries` x `keys`; reserve this in the stream's plan.
    public static func scratchCount(queries: Int, keys: Int) -> Int { queries * scoreRowStride(keys: keys) }

    /// The distance between two queries' score rows: `keys` rounded up to a 64-byte line. A row
    /// of 65 or 101 scores (a class token beside 64 or 100 patches) would otherwise start off the
    /// line, every vector load of it straddle two, and its masked tail store sit under the next
    /// row's first load: the softmax ran at half speed (NOTES, 2026-12-07, late morning).
    public static func scoreRowStride(keys: Int) -> Int { (keys + 15) & ~15 }

    /// `out = MultiHead(q, k, v)` without the output projection. `q` is [T, D], `k` and `v` are
    /// [S, D], `out` is [T, D] and must not overlap the inputs; `D` divides into `heads`.
    /// `scores` holds at least `scratchCount(queries: T, keys: S)` values.
    public static func attend(
        queries q: MatrixRef, keys k: MatrixRef, values v: MatrixRef, heads: Int, mask: Mask,
        scores: UnsafeMutableBufferPointer<Float>, into out: MutableMatrixRef
    ) {
        let t = q.rows, s = k.rows, d = q.columns
        precondition(heads > 0 && d % heads == 0, "Attention: width \(d) does not split into \(heads) heads")
        precondition(k.columns == d && v.columns == d && v.rows == s, "Attention: q is \(t)x\(d), k is \(k.rows)x\(k.columns), v is \(v.rows)x\(v.columns)")
        precondition(out.rows == t && out.columns == d, "Attention: out is \(out.rows)x\(out.columns), expected \(t)x\(d)")
        precondition(scores.count >= scratchCount(queries: t, keys: s), "Attention: \(scores.count) scratch values for \(t)x\(s) scores")
        precondition(mask == .none || s >= t, "Attention: causal mask with \(t) queries but only \(s) keys")
        if t == 0 { return }
        let hd = d / heads
        let scale = 1 / Float(hd).squareRoot()
        let p = MutableMatrixRef(scores.baseAddress!, rows: t, columns: s, rowStride: scoreRowStride(keys: s))
        for h in 0..<heads {
            let cols = (h * hd)..<((h + 1) * hd)
            Matmul.multiplyTransposed(q.columns(cols), k.columns(cols), into: p, alpha: scale)
            switch mask {
            case .none:
                Softmax.apply(p)
            case .causal:
                let offset = s - t
                for i in 0..<t {
                    let row = p.row(i)
                    let visible = offset + i + 1
                    Softmax.applyRow(row, count: visible)
                    (row + visible).update(repeating: 0, count: s - visible)
                }
            }
            Matmul.multiply(p.readOnly, v.columns(cols), into: out.columns(cols))
        }
    }

    /// Bidirectional self-attention over a fused projection: `qkv` is [T, 3D] with the queries,
    /// keys and values in that order along the columns (`nn.Linear(D, 3D)` then `split(D)`).
    public static func selfAttention(
        qkv: MatrixRef, heads: Int, scores: UnsafeMutableBufferPointer<Float>, into out: MutableMatrixRef
    ) {
        precondition(qkv.columns % 3 == 0, "Attention.selfAttention: qkv has \(qkv.columns) columns, not 3·D")
        let d = qkv.columns / 3
        attend(queries: qkv.columns(0..<d), keys: qkv.columns(d..<(2 * d)), values: qkv.columns((2 * d)..<(3 * d)),
               heads: heads, mask: .none, scores: scores, into: out)
    }

    /// Causal self-attention for decoding: appends the new tokens' keys and values from the fused
    /// `qkv` [T, 3D] to `cache`, then attends the new queries to everything cached. One token per
    /// call in the steady state; a prompt may come in as several rows at once.
    public static func causalSelfAttention(
        qkv: MatrixRef, cache: KVCache, heads: Int, scores: UnsafeMutableBufferPointer<Float>, into out: MutableMatrixRef
    ) {
        precondition(qkv.columns == 3 * cache.width, "Attention.causalSelfAttention: qkv has \(qkv.columns) columns for a cache of width \(cache.width)")
        let d = cache.width
        cache.append(keys: qkv.columns(d..<(2 * d)), values: qkv.columns((2 * d)..<(3 * d)))
        attend(queries: qkv.columns(0..<d), keys: cache.keys, values: cache.values,
               heads: heads, mask: .causal, scores: scores, into: out)
    }

    /// Cross-attention of decoder queries `q` [T, D] to a frame's visual tokens, whose keys and
    /// values were projected once per frame into `keyValues` [S, 2D] (`nn.Linear(D, 2D)`, keys
    /// first) and are only read here, token after token.
    public static func crossAttention(
        queries q: MatrixRef, keyValues: MatrixRef, heads: Int, scores: UnsafeMutableBufferPointer<Float>, into out: MutableMatrixRef
    ) {
        precondition(keyValues.columns == 2 * q.columns, "Attention.crossAttention: keyValues has \(keyValues.columns) columns for queries of width \(q.columns)")
        let d = q.columns
        attend(queries: q, keys: keyValues.columns(0..<d), values: keyValues.columns(d..<(2 * d)),
               heads: heads, mask: .none, scores: scores, into: out)
    }
}

/// The keys and values of one decoder layer's causal self-attention, for one stream: allocated
/// once at the longest sequence the decoder allows, filled one token at a time.
///
/// Restarting a caption is `reset()` and undoing tokens (e.g. a rejected draft) is
/// `truncate(to:)` — both move the count only; no tensor data is touched or reallocated.
public final class KVCache {
    /// The most tokens the cache holds.
    public let capacity: Int
    /// The model width D (all heads together).
    public let width: Int
    /// Tokens cached so far.
    public private(set) var count = 0

    private let keyStorage: Tensor
    private let valueStorage: Tensor

    /// A cache for up to `capacity` tokens of width `width`.
    public init(capacity: Int, width: Int) {
        precondition(capacity >= 0 && width > 0, "KVCache: capacity \(capacity), width \(width)")
        self.capacity = capacity
        self.width = width
        keyStorage = Tensor(shape: [capacity, width])
        valueStorage = Tensor(shape: [capacity, width])
    }

    /// The cached keys, [count, width].
    public var keys: MatrixRef { keyStorage.matrix.readOnly.rows(0..<count) }

    /// The cached values, [count, width].
    public var values: MatrixRef { valueStorage.matrix.readOnly.rows(0..<count) }

    /// Appends the rows of `keys` and `values` ([T, width] each). Exceeding the capacity is a
    /// decoding-loop bug (the length limit is checked before), so it traps with the sizes.
    public func append(keys: MatrixRef, values: MatrixRef) {
        precondition(keys.columns == width && values.columns == width && keys.rows == values.rows,
                     "KVCache.append: keys \(keys.rows)x\(keys.columns), values \(values.rows)x\(values.columns), width \(width)")
        precondition(count + keys.rows <= capacity, "KVCache full: \(count) + \(keys.rows) tokens exceed capacity \(capacity)")
        let range = count..<(count + keys.rows)
        Elementwise.copy(keys, to: keyStorage.matrix.rows(range))
        Elementwise.copy(values, to: valueStorage.matrix.rows(range))
        count += keys.rows
    }

    /// Forgets every token.
    public func reset() { count = 0 }

    /// Makes this cache hold exactly the tokens `other` holds (same width; capacity enough):
    /// copies the `other.count` rows of keys and values, nothing more.
    public func copy(from other: KVCache) {
        precondition(other.width == width && other.count <= capacity,
                     "KVCache.copy: \(other.count) tokens of width \(other.width) into capacity \(capacity), width \(width)")
        if other !== self {
            let rows = 0..<other.count
            Elementwise.copy(other.keys, to: keyStorage.matrix.rows(rows))
            Elementwise.copy(other.values, to: valueStorage.matrix.rows(rows))
        }
        count = other.count
    }

    /// Keeps only the first `length` tokens.
    public func truncate(to length: Int) {
        precondition(length >= 0 && length <= count, "KVCache.truncate: \(length) outside 0...\(count)")
        count = length
    }
}
