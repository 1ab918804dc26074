#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Kernels

/// How beam search decodes a caption; training/lttw/model.py's `beam_search` is the reference,
/// step for step.
///
/// - Every live beam's next-token log-probabilities (`log_softmax` of its logits) are added to
///   its score, the running sum of its tokens' log-probabilities. The candidates (beam, token)
///   are ranked by that sum, then by the raw logit, then by `beam · vocabulary + token`; this
///   order makes width 1 exactly greedy decoding, argmax ties included.
/// - Walking the ranking from the top, a candidate ending in <eos> becomes a finished
///   hypothesis; any other becomes a live beam of the next step, until `width` beams are live.
/// - Decoding stops once `width` hypotheses have finished, or when the model's length limit is
///   reached (then the live beams finish as they are, without <eos>), as greedy decoding does.
/// - The finished hypothesis with the best length-normalised score wins: GNMT's length penalty
///   (Wu et al. 2016), `log P / ((5 + length) / 6)^α`, where the length counts the generated
///   tokens including <eos>. α = 0 ranks by the plain sum of log-probabilities; larger α
///   favours longer captions. The earlier-finished one wins a tie.
public struct BeamSearch: Sendable, Hashable {
    /// The number of beams (1 is greedy decoding).
    public var width: Int
    /// GNMT's α.
    public var lengthPenalty: Double

    public static let defaultLengthPenalty = 0.6

    public init(width: Int, lengthPenalty: Double = BeamSearch.defaultLengthPenalty) {
        precondition(width >= 1, "BeamSearch: width \(width)")
        self.width = width
        self.lengthPenalty = lengthPenalty
    }

    /// GNMT's length-normalised score of a hypothesis of `length` tokens.
    public func normalized(score: Float, length: Int) -> Double {
        Double(score) / pow((5 + Double(length)) / 6, lengthPenalty)
    }
}

/// The bookkeeping of beam search for one stream, sized once for `width` beams: live beams'
/// tokens and scores (two sets, this step's and the next), the ranked candidates, the finished
/// hypotheses. Beams own KV-cache slots; choosing the next beams reassigns slots and copies a
/// cache only when one beam continues as several.
final class BeamScratch {
    let width: Int
    let maxLength: Int
    /// `[2][width][maxLength]` tokens of the live beams: the current set and the next.
    let tokens: UnsafeMutableBufferPointer<Int32>
    let scores: UnsafeMutableBufferPointer<Float>
    let slots: UnsafeMutableBufferPointer<Int32>
    /// Per live beam of the current step: `log Σ exp(logit - max)` and the max.
    let logSums: UnsafeMutableBufferPointer<Float>
    let maxima: UnsafeMutableBufferPointer<Float>
    /// The best `2 · width` candidates, ranked: score, logit, flat index (beam · V + token).
    let candidateScores: UnsafeMutableBufferPointer<Float>
    let candidateLogits: UnsafeMutableBufferPointer<Float>
    let candidateIndices: UnsafeMutableBufferPointer<Int>
    /// The next step's beams: parent beam and token.
    let parents: UnsafeMutableBufferPointer<Int32>
    let nextTokens: UnsafeMutableBufferPointer<Int32>
    let claimed: UnsafeMutableBufferPointer<Bool>
    /// Finished hypotheses: at most `width - 1` before a step, plus a step's <eos> endings and,
    /// at the length limit, the live beams — under `3 · width` in all.
    let finishedCapacity: Int
    let finishedTokens: UnsafeMutableBufferPointer<Int32>
    let finishedLengths: UnsafeMutableBufferPointer<Int>
    let finishedScores: UnsafeMutableBufferPointer<Double>

    init(width: Int, maxLength: Int) {
        self.width = width
        self.maxLength = maxLength
        finishedCapacity = 3 * width
        func buffer<T>(_ count: Int, _ value: T) -> UnsafeMutableBufferPointer<T> {
            let b = UnsafeMutableBufferPointer<T>.allocate(capacity: count)
            b.initialize(repeating: value)
            return b
        }
        tokens = buffer(2 * width * maxLength, 0)
        scores = buffer(2 * width, 0)
        slots = buffer(2 * width, 0)
        logSums = buffer(width, 0)
        maxima = buffer(width, 0)
        candidateScores = buffer(2 * width, 0)
        candidateLogits = buffer(2 * width, 0)
        candidateIndices = buffer(2 * width, 0)
        parents = buffer(width, 0)
        nextTokens = buffer(width, 0)
        claimed = buffer(width, false)
        finishedTokens = buffer(finishedCapacity * maxLength, 0)
        finishedLengths = buffer(finishedCapacity, 0)
        finishedScores = buffer(finishedCapacity, 0)
    }

    deinit {
        tokens.deallocate(); scores.deallocate(); slots.deallocate(); logSums.deallocate(); maxima.deallocate()
        candidateScores.deallocate(); candidateLogits.deallocate(); candidateIndices.deallocate()
        parents.deallocate(); nextTokens.deallocate(); claimed.deallocate()
        finishedTokens.deallocate(); finishedLengths.deallocate(); finishedScores.deallocate()
    }

    /// The tokens of live beam `beam` in set `set` (0 or 1).
    func beamTokens(_ set: Int, _ beam: Int) -> UnsafeMutablePointer<Int32> {
        tokens.baseAddress! + (set * width + beam) * maxLength
    }
}

extension CaptionDecoder {
    /// Decodes a caption by beam search from `prompt` (<bos> <language>), after `prepare`, and
    /// writes the winning hypothesis's tokens to `tokens` (ending in <eos> unless the length limit
    /// cut it). `search.width` must not exceed `state.beamCapacity`. Allocates nothing when
    /// `tokens` has the capacity for the model's longest caption. With a `constraint`, only the
    /// candidates it allows after their beam are ranked (the scores stay the full vocabulary's),
    /// and a winner the length limit cut ends at its last whole sentence.
    public func beamSearch(
        prompt: UnsafeBufferPointer<Int32>, endID: Int32, search: BeamSearch, state: State,
        constraint: CaptionConstraint? = nil, into tokens: inout [Int32]
    ) {
        let width = search.width
        precondition(width <= state.beamCapacity, "CaptionDecoder.beamSearch: width \(width) but the state holds \(state.beamCapacity) beams")
        let scratch = state.beams
        let vocabulary = architecture.vocabSize
        let maxLength = architecture.decMaxLen
        let candidateCapacity = 2 * width
        state.restart()
        feed(prompt, state: state)

        var current = 0
        var live = 1
        var length = 0
        var finished = 0
        scratch.scores[0] = 0
        scratch.slots[0] = 0
        while true {
            length += 1
            // Log-softmax pieces per live beam: logp = (x - max) - log Σ exp(x - max).
            for beam in 0..<live {
                let row = state.logits(row: beam)
                var maximum = -Float.infinity
                for x in row where x > maximum { maximum = x }
                var sum: Float = 0
                for x in row { sum += expf(x - maximum) }
                scratch.maxima[beam] = maximum
                scratch.logSums[beam] = logf(sum)
            }
            // The best candidates, ranked, by insertion into a short sorted list.
            var ranked = 0
            let keep = min(candidateCapacity, width + live)
            for beam in 0..<live {
                let row = state.logits(row: beam)
                let base = scratch.scores[current * width + beam]
                let maximum = scratch.maxima[beam], logSum = scratch.logSums[beam]
                let allowed = constraint?.allowedTokens(
                    after: UnsafeBufferPointer(start: scratch.beamTokens(current, beam), count: length - 1), endID: endID)
                for token in 0..<vocabulary {
                    if let allowed, !allowed[token] { continue }
                    let logit = row[token]
                    let score = base + ((logit - maximum) - logSum)
                    let index = beam * vocabulary + token
                    if ranked == keep && !Self.ranksBefore(score, logit, index,
                        scratch.candidateScores[ranked - 1], scratch.candidateLogits[ranked - 1], scratch.candidateIndices[ranked - 1]) {
                        continue
                    }
                    var place = min(ranked, keep - 1)
                    while place > 0 && Self.ranksBefore(score, logit, index,
                        scratch.candidateScores[place - 1], scratch.candidateLogits[place - 1], scratch.candidateIndices[place - 1]) {
                        scratch.candidateScores[place] = scratch.candidateScores[place - 1]
                        scratch.candidateLogits[place] = scratch.candidateLogits[place - 1]
                        scratch.candidateIndices[place] = scratch.candidateIndices[place - 1]
                        place -= 1
                    }
                    scratch.candidateScores[place] = score
                    scratch.candidateLogits[place] = logit
                    scratch.candidateIndices[place] = index
                    if ranked < keep { ranked += 1 }
                }
            }
            // Walk the ranking: <eos> finishes a hypothesis, anything else continues as a beam.
            let next = 1 - current
            var nextLive = 0
            for rank in 0..<ranked where nextLive < width {
                let parent = scratch.candidateIndices[rank] / vocabulary
                let token = Int32(scratch.candidateIndices[rank] % vocabulary)
                let score = scratch.candidateScores[rank]
                if token == endID {
                    finish(scratch.beamTokens(current, parent), length: length - 1, last: token, score: score,
                           search: search, scratch: scratch, count: &finished)
                } else {
                    scratch.parents[nextLive] = Int32(parent)
                    scratch.nextTokens[nextLive] = token
                    scratch.scores[next * width + nextLive] = score
                    let target = scratch.beamTokens(next, nextLive)
                    target.update(from: scratch.beamTokens(current, parent), count: length - 1)
                    target[length - 1] = token
                    nextLive += 1
                }
            }
            // Greedy decoding stops at the same place: the token generated at the last position.
            if state.position >= maxLength {
                for beam in 0..<nextLive {
                    finish(scratch.beamTokens(next, beam), length: length - 1, last: scratch.nextTokens[beam],
                           score: scratch.scores[next * width + beam], search: search, scratch: scratch, count: &finished)
                }
                break
            }
            if finished >= width || nextLive == 0 { break }
            // Cache slots: a beam's first continuation keeps its slot; further ones take slots
            // of beams that did not continue, with a copy of the cache.
            for slot in 0..<width { scratch.claimed[slot] = false }
            for beam in 0..<nextLive {
                let slot = Int(scratch.slots[current * width + Int(scratch.parents[beam])])
                if scratch.claimed[slot] {
                    scratch.slots[next * width + beam] = -1
                } else {
                    scratch.claimed[slot] = true
                    scratch.slots[next * width + beam] = Int32(slot)
                }
            }
            for beam in 0..<nextLive where scratch.slots[next * width + beam] < 0 {
                var free = 0
                while scratch.claimed[free] { free += 1 }
                scratch.claimed[free] = true
                let source = Int(scratch.slots[current * width + Int(scratch.parents[beam])])
                copyCaches(from: source, to: free, state: state)
                scratch.slots[next * width + beam] = Int32(free)
            }
            feed(UnsafeBufferPointer(rebasing: scratch.nextTokens[0..<nextLive]),
                 slots: UnsafeBufferPointer(rebasing: scratch.slots[(next * width)..<(next * width + nextLive)]),
                 state: state)
            current = next
            live = nextLive
        }

        var best = 0
        for i in 1..<max(finished, 1) where scratch.finishedScores[i] > scratch.finishedScores[best] { best = i }
        tokens.removeAll(keepingCapacity: true)
        if finished > 0 {
            let start = scratch.finishedTokens.baseAddress! + best * maxLength
            var length = scratch.finishedLengths[best]
            if let constraint {
                length = constraint.wholeSentenceCount(of: UnsafeBufferPointer(start: start, count: length), endID: endID)
            }
            for i in 0..<length { tokens.append(start[i]) }
        }
    }

    /// Ranking of candidates: higher score, then higher logit, then lower flat index.
    @inline(__always)
    static func ranksBefore(_ score: Float, _ logit: Float, _ index: Int, _ otherScore: Float, _ otherLogit: Float, _ otherIndex: Int) -> Bool {
        if score != otherScore { return score > otherScore }
        if logit != otherLogit { return logit > otherLogit }
        return index < otherIndex
    }

    /// Records a finished hypothesis: `prefix` (`length` tokens) then `last`.
    private func finish(
        _ prefix: UnsafePointer<Int32>, length: Int, last: Int32, score: Float, search: BeamSearch,
        scratch: BeamScratch, count: inout Int
    ) {
        precondition(count < scratch.finishedCapacity, "beam search: more finished hypotheses than planned")
        let target = scratch.finishedTokens.baseAddress! + count * scratch.maxLength
        target.update(from: prefix, count: length)
        target[length] = last
        scratch.finishedLengths[count] = length + 1
        scratch.finishedScores[count] = search.normalized(score: score, length: length + 1)
        count += 1
    }
}
