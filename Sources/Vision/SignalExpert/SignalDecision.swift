import Imaging

/// The frame's light from its lamp candidates: training/lttw/signal_model.py's `decide`, to the
/// letter, so `listen eval` and the Python evaluator agree. The safety rules live here:
///
/// - a candidate is a lit signal when p(a signal) ≥ `thresholds.signal`; none lit: no signal;
/// - pedestrian candidates are preferred over vehicle ones; the chosen set must agree on the
///   state, else "unknown" (two signals saying different things is not something to guess on);
/// - green needs its mass ≥ `thresholds.green` *and* no red lamp of the same kind anywhere in
///   view with mass ≥ `thresholds.redVeto` — a second, stricter check before walk;
/// - red and yellow need their mass ≥ `thresholds.abstain`, else "unknown".
public struct SignalDecision: Sendable, Equatable {
    public enum Reason: String, Sendable, Hashable {
        case candidatesDisagree = "candidates disagree"
        case greenBelowThreshold = "green below threshold"
        case redLampInView = "a red lamp in view"
        case unsure
    }

    /// red, green, yellow, none or unknown.
    public var state: LightState
    public var kind: LightKind?
    public var position: Position?
    /// The decided state's mass on the chosen candidate (for `none`: 1 − the strongest signal).
    public var confidence: Double
    /// The chosen candidate (index into the stream's candidates) and its box in frame pixels.
    public var candidate: Int?
    public var box: LampCandidate?
    public var candidateCount: Int
    /// Why the light is unknown, when it is.
    public var reason: Reason?
    /// The chosen candidate's masses: not a signal, red, green, yellow (sums to 1).
    public var masses: (none: Double, red: Double, green: Double, yellow: Double)

    public static func == (a: SignalDecision, b: SignalDecision) -> Bool {
        a.state == b.state && a.kind == b.kind && a.position == b.position && a.confidence == b.confidence
            && a.candidate == b.candidate && a.box == b.box && a.candidateCount == b.candidateCount && a.reason == b.reason
            && a.masses == b.masses
    }

    /// Decides from `classes` probabilities per candidate, candidates in rows of `probabilities`
    /// (class order `SignalExpertConfiguration.knownClasses`).
    public init(
        candidates: [LampCandidate], probabilities p: UnsafeMutableBufferPointer<Float>, classes k: Int,
        frameWidth: Int, thresholds t: SignalExpertConfiguration.Thresholds
    ) {
        candidateCount = candidates.count
        kind = nil
        position = nil
        candidate = nil
        box = nil
        reason = nil
        masses = (1, 0, 0, 0)
        guard !candidates.isEmpty else {
            state = .none
            confidence = 1
            return
        }
        func at(_ n: Int, _ j: Int) -> Double { Double(p[n * k + j]) }
        func signal(_ n: Int) -> Double { 1 - at(n, 0) }
        func red(_ n: Int) -> Double { at(n, 1) + at(n, 3) }
        func yellow(_ n: Int) -> Double { at(n, 4) }
        func green(_ n: Int) -> Double { at(n, 2) + at(n, 5) }
        func isPedestrian(_ n: Int) -> Bool { at(n, 1) + at(n, 2) >= at(n, 3) + at(n, 4) + at(n, 5) }

        var strongest = -Double.infinity
        var anyLit = false, anyPedestrian = false
        for n in candidates.indices {
            strongest = max(strongest, signal(n))
            if signal(n) >= t.signal {
                anyLit = true
                if isPedestrian(n) { anyPedestrian = true }
            }
        }
        guard anyLit else {
            state = .none
            confidence = 1 - strongest
            return
        }
        func chosen(_ n: Int) -> Bool { signal(n) >= t.signal && (!anyPedestrian || isPedestrian(n)) }
        func stateOf(_ n: Int) -> LightState {
            // argmax of (red, yellow, green), the first on ties
            let r = red(n), y = yellow(n), g = green(n)
            if r >= y && r >= g { return .red }
            return y >= g ? .yellow : .green
        }
        var best = -1
        for n in candidates.indices where chosen(n) && (best < 0 || signal(n) > signal(best)) { best = n }
        let decided = stateOf(best)
        kind = anyPedestrian ? .pedestrian : .vehicle
        position = Position(rawValue: candidates[best].position(frameWidth: frameWidth).rawValue)
        candidate = best
        box = candidates[best]
        masses = (at(best, 0), red(best), green(best), yellow(best))
        let mass = decided == .red ? red(best) : decided == .yellow ? yellow(best) : green(best)
        confidence = mass
        state = decided
        if candidates.indices.contains(where: { chosen($0) && stateOf($0) != decided }) {
            state = .unknown
            reason = .candidatesDisagree
            return
        }
        if decided == .green {
            if mass < t.green {
                state = .unknown
                reason = .greenBelowThreshold
                return
            }
            var strongestRed = 0.0
            for n in candidates.indices { strongestRed = max(strongestRed, anyPedestrian ? at(n, 1) : red(n)) }
            if strongestRed >= t.redVeto {
                state = .unknown
                reason = .redLampInView
            }
            return
        }
        if mass < t.abstain {
            state = .unknown
            reason = .unsure
        }
    }
}
