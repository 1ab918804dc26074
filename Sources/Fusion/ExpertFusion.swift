import Kernels
import Vision

/// MouSi's poly-expert fusion: the signal and obstacle experts' reads and the scene heads'
/// crossing become tokens in the decoder's space, appended to the scene's visual tokens, so the
/// caption decoder attends to all three experts and the facts they decide
/// (training/lttw/fusion.py, which this mirrors).
///
/// Why: a decoder that sees only the low-resolution scene encoder writes crossings and obstacles
/// the experts, which give the facts, did not find; with their reads in its memory it describes
/// what the facts hold.
///
///     signal:    the `signalTokens` candidates most likely a signal (1 − p[not a signal], highest
///                first, the earlier candidate on ties): [embedding, geometry, calibrated p]
///                → fc1 → GELU → fc2, + the rank's embedding; a rank with no candidate is the
///                learned absent token + the rank's embedding
///     crossing:  the heads' calibrated p(crosswalk) and its side's, then the facts decided from
///                them (present, the side's one-hot) → fc1 → GELU → fc2, + its embedding
///     obstacles: each slot's calibrated probabilities, then the one-hot of the obstacle the read
///                rule decides there ("empty" if none) → fc1 → GELU → fc2, + the slot's embedding
///     memory =   [visual tokens, signal tokens, crossing token, obstacle tokens]
public struct ExpertFusion: @unchecked Sendable {
    public let configuration: ExpertFusionConfiguration
    let visualTokens: Int
    /// The facts' thresholds: the crosswalk head's and the obstacle expert's.
    let crosswalkThreshold: Float
    let obstacleThreshold: Double
    /// Distances per position: the slots of one position are consecutive.
    let distances: Int
    let signalUp: LinearWeights
    let signalDown: LinearWeights
    let signalRank: MatrixRef
    let signalAbsent: UnsafeBufferPointer<Float>
    let crossingUp: LinearWeights
    let crossingDown: LinearWeights
    let crossingPlace: UnsafeBufferPointer<Float>
    let obstacleUp: LinearWeights
    let obstacleDown: LinearWeights
    let obstacleSlot: MatrixRef

    /// The fusion of model `model` (whose `fusion` is `c`, validated with it).
    public init(_ source: some WeightSource, configuration c: ExpertFusionConfiguration, model: ModelConfiguration) throws {
        guard let obstacles = model.obstacleExpert else { preconditionFailure("ExpertFusion: validated without an obstacle expert") }
        configuration = c
        visualTokens = model.architecture.visualTokens
        crosswalkThreshold = model.thresholds.crosswalk
        obstacleThreshold = obstacles.threshold
        distances = obstacles.distances.count
        let a = c.architecture, d = a.decWidth, p = c.weightsPrefix
        signalUp = try LinearWeights(source, p + "signal_fc1", inputs: a.signalFeatures, outputs: d)
        signalDown = try LinearWeights(source, p + "signal_fc2", inputs: d, outputs: d)
        signalRank = MatrixRef(try source.values(p + "signal_rank", shape: [a.signalTokens, d]), rows: a.signalTokens, columns: d)
        signalAbsent = try source.values(p + "signal_absent", shape: [d])
        crossingUp = try LinearWeights(source, p + "crossing_fc1", inputs: a.crossingFeatures, outputs: d)
        crossingDown = try LinearWeights(source, p + "crossing_fc2", inputs: d, outputs: d)
        crossingPlace = try source.values(p + "crossing_place", shape: [d])
        obstacleUp = try LinearWeights(source, p + "obstacle_fc1", inputs: 2 * a.obstacleClasses, outputs: d)
        obstacleDown = try LinearWeights(source, p + "obstacle_fc2", inputs: d, outputs: d)
        obstacleSlot = MatrixRef(try source.values(p + "obstacle_slot", shape: [a.obstacleSlots, d]), rows: a.obstacleSlots, columns: d)
    }

    /// One stream's fused memory and scratch, sized once.
    public final class State {
        /// [visual tokens + signal tokens + crossing token + obstacle slots, decoder width]: what the
        /// decoder attends to.
        public let memory: Tensor
        let signalRows: Tensor
        let signalHidden: Tensor
        let crossingRow: Tensor
        let crossingHidden: Tensor
        let obstacleRows: Tensor
        let obstacleHidden: Tensor
        /// The candidates fused, in rank order (the first `ranked` entries are this frame's).
        let order: UnsafeMutableBufferPointer<Int>

        public init(_ fusion: ExpertFusion) {
            let a = fusion.configuration.architecture
            memory = Tensor(shape: [fusion.visualTokens + fusion.configuration.tokens, a.decWidth])
            signalRows = Tensor(shape: [a.signalTokens, a.signalFeatures])
            signalHidden = Tensor(shape: [a.signalTokens, a.decWidth])
            crossingRow = Tensor(shape: [1, a.crossingFeatures])
            crossingHidden = Tensor(shape: [1, a.decWidth])
            obstacleRows = Tensor(shape: [a.obstacleSlots, 2 * a.obstacleClasses])
            obstacleHidden = Tensor(shape: [a.obstacleSlots, a.decWidth])
            order = .allocate(capacity: a.signalTokens)
            order.initialize(repeating: 0)
        }

        deinit { order.deallocate() }
    }

    /// Writes the frame's memory into `state.memory`: `visualTokens` (the projector's), then the
    /// tokens of the signal expert's candidates (`signal`, after its read of this frame), of the
    /// crossing (`crosswalk`: the heads' calibrated [no, yes], `crosswalkSide` their side's) and of
    /// the obstacle expert's slots (`obstacles`, after its read of this frame). Allocates nothing.
    public func fuse(
        visualTokens visual: MatrixRef, signal: SignalExpert.State, crosswalk: UnsafeBufferPointer<Float>,
        crosswalkSide: UnsafeBufferPointer<Float>, obstacles: ObstacleExpert.State, state: State
    ) {
        let a = configuration.architecture, d = a.decWidth
        precondition(visual.rows == visualTokens && visual.columns == d, "ExpertFusion.fuse: \(visual.rows)×\(visual.columns) visual tokens")
        let memory = state.memory.matrix
        for row in 0..<visualTokens { memory.row(row).update(from: visual.row(row), count: d) }

        let ranked = rank(signal, into: state.order)
        let features = signal.features.matrix.readOnly, probabilities = signal.probabilities.matrix.readOnly
        let rows = state.signalRows.matrix
        for r in 0..<ranked {
            let out = rows.row(r), n = state.order[r]
            out.update(from: features.row(n), count: features.columns)
            (out + features.columns).update(from: probabilities.row(n), count: probabilities.columns)
        }
        let signalTokens = memory.rows(visualTokens..<(visualTokens + a.signalTokens))
        if ranked > 0 {
            let hidden = state.signalHidden.matrix.rows(0..<ranked)
            signalUp.apply(rows.readOnly.rows(0..<ranked), into: hidden, activation: .exact)
            signalDown.apply(hidden.readOnly, into: signalTokens.rows(0..<ranked))
        }
        for r in ranked..<a.signalTokens { signalTokens.row(r).update(from: signalAbsent.baseAddress!, count: d) }
        for r in 0..<a.signalTokens {
            let out = signalTokens.row(r), place = signalRank.row(r)
            for i in 0..<d { out[i] += place[i] }
        }

        let crossing = state.crossingRow.storage, sides = crosswalkSide.count
        precondition(crosswalk.count == 2 && 2 * (1 + sides) == crossing.count, "ExpertFusion.fuse: crossing heads of \(crosswalk.count) and \(sides)")
        let present = crosswalk[1] >= crosswalkThreshold
        var side = 0
        for i in crosswalkSide.indices where crosswalkSide[i] > crosswalkSide[side] { side = i }
        crossing[0] = crosswalk[1]
        for i in 0..<sides {
            crossing[1 + i] = crosswalkSide[i]
            crossing[2 + sides + i] = present && i == side ? 1 : 0
        }
        crossing[1 + sides] = present ? 1 : 0
        let crossingToken = visualTokens + a.signalTokens
        crossingUp.apply(state.crossingRow.matrix.readOnly, into: state.crossingHidden.matrix, activation: .exact)
        crossingDown.apply(state.crossingHidden.matrix.readOnly, into: memory.rows(crossingToken..<(crossingToken + 1)))
        let crossingOut = memory.row(crossingToken)
        for i in 0..<d { crossingOut[i] += crossingPlace[i] }

        let first = crossingToken + 1
        let slotTokens = memory.rows(first..<(first + a.obstacleSlots))
        writeObstacleRows(obstacles.probabilities.storage, into: state.obstacleRows.storage)
        obstacleUp.apply(state.obstacleRows.matrix.readOnly, into: state.obstacleHidden.matrix, activation: .exact)
        obstacleDown.apply(state.obstacleHidden.matrix.readOnly, into: slotTokens)
        for s in 0..<a.obstacleSlots {
            let out = slotTokens.row(s), place = obstacleSlot.row(s)
            for i in 0..<d { out[i] += place[i] }
        }
    }

    /// Each slot's row: its probabilities (`p`, [slots, classes]), then the one-hot of the obstacle
    /// decided there, by `ObstacleExpert.detections`' rule (the most likely kind, first on ties, at
    /// or above the threshold; of one position's slots with the same kind only the nearest, the
    /// first: slots run near, mid, far), or of "empty".
    func writeObstacleRows(_ p: UnsafeMutableBufferPointer<Float>, into rows: UnsafeMutableBufferPointer<Float>) {
        let a = configuration.architecture, classes = a.obstacleClasses, slots = a.obstacleSlots
        func best(_ slot: Int) -> Int {
            var k = 1
            for j in 2..<classes where p[slot * classes + j] > p[slot * classes + k] { k = j }
            return k
        }
        for slot in 0..<slots {
            let row = slot * 2 * classes
            for j in 0..<classes {
                rows[row + j] = p[slot * classes + j]
                rows[row + classes + j] = 0
            }
            let kind = best(slot), confidence = p[slot * classes + kind]
            var decided = Double(confidence) >= obstacleThreshold
            if decided {
                let first = slot / distances * distances
                for other in first..<slot where best(other) == kind && Double(p[other * classes + kind]) >= obstacleThreshold {
                    decided = false
                }
            }
            rows[row + classes + (decided ? kind : 0)] = 1
        }
    }

    /// The frame's candidates most likely a signal, best first (the earlier candidate on ties),
    /// into `order`; returns how many (at most `signalTokens`). The score is 1 − p[not a signal]
    /// in float32, as fusion.py's `ranked` computes it.
    func rank(_ signal: SignalExpert.State, into order: UnsafeMutableBufferPointer<Int>) -> Int {
        let k = order.count
        var count = 0
        for n in 0..<signal.candidates.count {
            let score = 1 - signal.probabilities(of: n)[0]
            // Insertion into the sorted prefix; a later candidate goes after an equal score.
            var place = count
            while place > 0 && 1 - signal.probabilities(of: order[place - 1])[0] < score { place -= 1 }
            guard place < k else { continue }
            var i = min(count, k - 1)
            while i > place {
                order[i] = order[i - 1]
                i -= 1
            }
            order[place] = n
            count = min(count + 1, k)
        }
        return count
    }
}
