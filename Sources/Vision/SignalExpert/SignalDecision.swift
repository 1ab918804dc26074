import Imaging

/// The frame's light from its lamp candidates: training/lttw/signal_model.py's `decide`, to the
/// letter, so `listen eval` and the Python evaluator agree. The safety rules live here:
///
/// - a candidate is a lit signal when p(a signal) ≥ `thresholds.signal`; none lit: no signal;
/// - pedestrian candidates are preferred over vehicle ones; the strongest signal decides;
/// - green needs its mass ≥ `thresholds.green` *and* no "stop" lamp anywhere in view (a
///   pedestrian red; for vehicle signals red or yellow) with mass ≥ `thresholds.redVeto` and a
///   side at least `thresholds.redVetoSide` times that of the smallest lamp that could be the
///   walk lamp (the chosen one, a standby) — a second, stricter check before walk;
/// - red and yellow need their mass ≥ `thresholds.abstain`, and no other chosen candidate may be
///   confidently green (two signals saying stop and go is not something to guess on);
/// - with green confirmation (`confirmGreen`), a green must also hold, at `thresholds.green`, in
///   every other view of the chosen candidate but `thresholds.viewMisses` of them (absent: every
///   one): one lucky crop of a sign or a bush is not walk;
///   a green that disagrees with a red must hold in its views too (`resolveDisagreement` when
///   none does); and a stop lamp that vetoes a green must hold at `thresholds.redVeto` in at
///   least half of its views too (`resolveVeto` when none does: the green then goes on to
///   `confirmGreen`); when the chosen green fails its views, another chosen candidate that read
///   green at `thresholds.green` (`standbyGreens`) may still hold in its views and be the walk
///   lamp a brighter sign outshone (`confirmStandby`);
/// - with a green verifier, the walk candidate must also convince a second reader at a higher
///   resolution (its smallest green over the candidate's squares ≥ `thresholds.verify`,
///   `confirmVerified`); when it does not, the standbys after it that hold in their views are
///   read by the verifier in turn and the first it passes is the walk lamp
///   (`confirmVerifiedStandby`); only a green that would convince it disagrees with a stop;
/// - with `thresholds.setAside`, a frame left unknown by a candidate that reads green
///   (`doubtsGreen`) but that the verifier gives less than even odds is decided once more with
///   that candidate set aside (`setAside` mask of the initialiser): a green-tinted sign or leaf no
///   longer hides the red lamp behind it. That decision stands only when it is red or yellow:
///   the second look never ends at walk or at "no signal".
/// A weak green beside a red never makes the frame green; a red beside a weak green is red:
/// a wrong "wait" costs a cycle, a wrong "walk" can kill.
public struct SignalDecision: Sendable, Equatable {
    public enum Reason: String, Sendable, Hashable {
        case candidatesDisagree = "candidates disagree"
        case greenBelowThreshold = "green below threshold"
        case redLampInView = "a red lamp in view"
        /// (The wire value predates `thresholds.viewMisses`: "every view" but the misses allowed.)
        case greenNotConfirmed = "green not confirmed by every view"
        case greenNotVerified = "green not verified"
        /// The frame shows no colour (a grey or infrared camera), so no lamp can be found in it
        /// and "no signal" would be a guess (`seenWithoutColour`).
        case noColour = "no colour in the frame"
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
    /// When a red or yellow is unknown because other candidates read green: those candidates
    /// (bit n = candidate n) and the state they overrule; for `resolveDisagreement`.
    public private(set) var disagreeingGreens: UInt32 = 0
    public private(set) var overruled: LightState?
    /// When a green is unknown because of a stop lamp in view: those candidates (bit n =
    /// candidate n, stop mass ≥ `thresholds.redVeto`); for `resolveVeto`.
    public private(set) var vetoingStops: UInt32 = 0
    /// When the chosen candidate reads green at the threshold: the other chosen candidates that do
    /// too (bit n = candidate n); for `confirmStandby` and `confirmVerifiedStandby`.
    public private(set) var standbyGreens: UInt32 = 0
    /// The green verifier's smallest green on the walk candidate, when it read one.
    public private(set) var verifierGreen: Double?
    /// The candidate the verifier called no lamp, when the frame was decided again without it,
    /// its box and the verifier's smallest green on it (for overlays and reports).
    public private(set) var setAsideCandidate: Int?
    public private(set) var setAsideBox: LampCandidate?
    public private(set) var setAsideVerifierGreen: Double?
    /// The seconds the countdown beside the announced lamp shows, when the countdown reader read a
    /// number at its threshold (red and green only; `SignalExpert.readCountdown`), and the
    /// probability of the class it read (a number or "none"), when it read one.
    public internal(set) var secondsLeft: Int?
    public internal(set) var countdownProbability: Double?

    /// Whether the frame is unknown because its strongest candidate reads green but did not pass:
    /// the cases the verifier may settle by setting that candidate aside (signal_model.GREEN_DOUBTS).
    public var doubtsGreen: Bool {
        guard state == .unknown, candidate != nil, let reason else { return false }
        switch reason {
        case .greenBelowThreshold, .redLampInView, .greenNotConfirmed, .greenNotVerified: return true
        case .candidatesDisagree, .noColour, .unsure: return false
        }
    }

    public static func == (a: SignalDecision, b: SignalDecision) -> Bool {
        a.state == b.state && a.kind == b.kind && a.position == b.position && a.confidence == b.confidence
            && a.candidate == b.candidate && a.box == b.box && a.candidateCount == b.candidateCount && a.reason == b.reason
            && a.masses == b.masses && a.disagreeingGreens == b.disagreeingGreens && a.overruled == b.overruled
            && a.vetoingStops == b.vetoingStops && a.standbyGreens == b.standbyGreens && a.verifierGreen == b.verifierGreen
            && a.setAsideCandidate == b.setAsideCandidate && a.setAsideBox == b.setAsideBox
            && a.setAsideVerifierGreen == b.setAsideVerifierGreen
    }

    /// Marks this decision as the one taken with candidate `n` (`box`, which the verifier read at
    /// `verifierGreen`) set aside (signal_model.decide_frame).
    public mutating func recordSetAside(_ n: Int, box candidateBox: LampCandidate, verifierGreen green: Double) {
        setAsideCandidate = n
        setAsideBox = candidateBox
        setAsideVerifierGreen = green
    }

    /// signal_model.no_colour: "no signal" from a frame that shows no colour
    /// (`LampProposer.lastFrameIsColourless`), or whose colour is only sensor noise
    /// (`lastFrameColourIsNoise`), is unknown, since lamps are found by their colour: DESIGN.md
    /// rule 3, say so when unsure. So is a walk on a colourless frame: a green read from a lamp's
    /// shape alone, with no colour to back it, is not one to cross on. A walk where the colour only
    /// reads as noise stands (ten faded real photos of lit walk lamps read so, and the walk has
    /// passed every check of the walk path). Red and yellow pass unchanged.
    public mutating func seenWithoutColour(colourless: Bool, colourIsNoise: Bool) {
        guard (state == .none && (colourless || colourIsNoise)) || (state == .green && colourless) else { return }
        state = .unknown
        reason = .noColour
        confidence = 0
    }

    /// signal_model.confirm_disagreement: none of the disagreeing greens held in every
    /// confirmation view, so the red or yellow they overruled stands.
    public mutating func resolveDisagreement() {
        guard reason == .candidatesDisagree, let overruled else { return }
        state = overruled
        reason = nil
        disagreeingGreens = 0
        self.overruled = nil
    }

    /// signal_model.confirm_veto: no stop lamp held in at least half of its confirmation views,
    /// so the green they vetoed goes on to its own confirmation (`confirmGreen`, still to come).
    public mutating func resolveVeto() {
        guard reason == .redLampInView else { return }
        state = .green
        reason = nil
        vetoingStops = 0
    }

    /// signal_model.confirm_green: a green stands only when the green held over the first read
    /// and the confirmation views (`smallestViewGreen`: their smallest once `thresholds.viewMisses`
    /// of the lowest are set aside; it may already include the first read) reaches `thresholds.green`;
    /// the confidence becomes that smallest mass. Other states pass unchanged.
    public mutating func confirmGreen(smallestViewGreen: Double, thresholds t: SignalExpertConfiguration.Thresholds) {
        guard state == .green else { return }
        // A view green that is not a number holds nothing (Swift's min would drop it).
        confidence = min(confidence, smallestViewGreen.isNaN ? 0 : smallestViewGreen)
        if !(confidence >= t.green) {
            state = .unknown
            reason = .greenNotConfirmed
        }
    }

    /// signal_model.confirm_verified: a green that held in its views stands only when the green
    /// verifier's smallest green over the candidate's squares (`verifierGreen`) reaches
    /// `threshold` (thresholds.verify). Other states pass unchanged.
    public mutating func confirmVerified(verifierGreen green: Double, threshold: Double) {
        guard state == .green else { return }
        verifierGreen = green
        if !(green >= threshold) {  // a verifier green that is not a number fails
            state = .unknown
            reason = .greenNotVerified
        }
    }

    /// The standby candidates (bit n = candidate n) still to be tried once the verifier turned
    /// down the walk candidate (signal_model.standby_after): every standby when that was the
    /// strongest candidate, else those after it (the ones before it failed their views).
    public var standbysAfterWalkCandidate: UInt32 {
        guard let n = candidate, n < UInt32.bitWidth, standbyGreens & (1 << UInt32(n)) != 0 else { return standbyGreens }
        return n + 1 < UInt32.bitWidth ? standbyGreens & ~((1 << UInt32(n + 1)) - 1) : 0
    }

    /// signal_model.confirm_verified_standby: the verifier turned down the walk candidate, and
    /// standby candidate `n` (one of `standbysAfterWalkCandidate`; its box, its masses) holds at
    /// `thresholds.green` over its own read and its views (`smallestViewGreen`) and convinces the
    /// verifier (`verifierGreen` ≥ `thresholds.verify`): the frame is green from that lamp. A larger
    /// crop of the same lamp can outrank its own blob by a hair and fail the verifier while the blob
    /// passes every read. Anything else passes unchanged.
    public mutating func confirmVerifiedStandby(
        _ n: Int, box candidateBox: LampCandidate, masses candidateMasses: (none: Double, red: Double, green: Double, yellow: Double),
        smallestViewGreen: Double, verifierGreen green: Double, frameWidth: Int, thresholds t: SignalExpertConfiguration.Thresholds
    ) {
        guard reason == .greenNotVerified, let verify = t.verify, n < UInt32.bitWidth,
              standbysAfterWalkCandidate & (1 << UInt32(n)) != 0, smallestViewGreen >= t.green, green >= verify else { return }
        walk(from: n, box: candidateBox, masses: candidateMasses, smallestViewGreen: smallestViewGreen, frameWidth: frameWidth)
        verifierGreen = green
    }

    /// signal_model.confirm_standby: the chosen green failed its views, and standby candidate `n`
    /// (its box, its masses) holds at `thresholds.green` over its own read and its views
    /// (`smallestViewGreen`): the frame is green from that lamp, at that smallest mass. Anything
    /// else passes unchanged.
    public mutating func confirmStandby(
        _ n: Int, box candidateBox: LampCandidate, masses candidateMasses: (none: Double, red: Double, green: Double, yellow: Double),
        smallestViewGreen: Double, frameWidth: Int, thresholds t: SignalExpertConfiguration.Thresholds
    ) {
        guard reason == .greenNotConfirmed, n < UInt32.bitWidth, standbyGreens & (1 << UInt32(n)) != 0,
              smallestViewGreen >= t.green else { return }
        walk(from: n, box: candidateBox, masses: candidateMasses, smallestViewGreen: smallestViewGreen, frameWidth: frameWidth)
    }

    /// The frame is green from standby candidate `n`: its box, position and masses, at the green
    /// it held over its views (what `confirmStandby` and `confirmVerifiedStandby` both end at).
    private mutating func walk(
        from n: Int, box candidateBox: LampCandidate, masses candidateMasses: (none: Double, red: Double, green: Double, yellow: Double),
        smallestViewGreen: Double, frameWidth: Int
    ) {
        state = .green
        reason = nil
        candidate = n
        box = candidateBox
        position = Position(rawValue: candidateBox.position(frameWidth: frameWidth).rawValue)
        masses = candidateMasses
        confidence = smallestViewGreen
    }

    /// Decides from `classes` probabilities per candidate, candidates in rows of `probabilities`
    /// (class order `SignalExpertConfiguration.knownClasses`). Candidates in `setAside` (bit n =
    /// candidate n) take no part: never lit, never a stop lamp.
    public init(
        candidates: [LampCandidate], probabilities p: UnsafeMutableBufferPointer<Float>, classes k: Int,
        frameWidth: Int, thresholds t: SignalExpertConfiguration.Thresholds, setAside: UInt32 = 0
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
        precondition(candidates.count <= UInt32.bitWidth, "more candidates than the candidate masks hold")
        func at(_ n: Int, _ j: Int) -> Double { Double(p[n * k + j]) }
        func inPlay(_ n: Int) -> Bool { setAside & (1 << UInt32(n)) == 0 }
        // A read that is not a number passes no check and fails none the way it should: the frame
        // is unsure, whatever else it holds (never green, never "no signal").
        for n in candidates.indices where inPlay(n) {
            for j in 0..<k where !at(n, j).isFinite {
                state = .unknown
                reason = .unsure
                confidence = 0
                return
            }
        }
        func signal(_ n: Int) -> Double { 1 - at(n, 0) }
        func red(_ n: Int) -> Double { at(n, 1) + at(n, 3) }
        func yellow(_ n: Int) -> Double { at(n, 4) }
        func green(_ n: Int) -> Double { at(n, 2) + at(n, 5) }
        func isPedestrian(_ n: Int) -> Bool { at(n, 1) + at(n, 2) >= at(n, 3) + at(n, 4) + at(n, 5) }

        var strongest = -Double.infinity
        var anyInPlay = false, anyLit = false, anyPedestrian = false
        for n in candidates.indices where inPlay(n) {
            anyInPlay = true
            strongest = max(strongest, signal(n))
            if signal(n) >= t.signal {
                anyLit = true
                if isPedestrian(n) { anyPedestrian = true }
            }
        }
        guard anyLit else {
            state = .none
            confidence = anyInPlay ? 1 - strongest : 1
            return
        }
        func chosen(_ n: Int) -> Bool { inPlay(n) && signal(n) >= t.signal && (!anyPedestrian || isPedestrian(n)) }
        var best = -1
        for n in candidates.indices where chosen(n) && (best < 0 || signal(n) > signal(best)) { best = n }
        // argmax of (red, yellow, green), the first on ties
        let r = red(best), y = yellow(best), g = green(best)
        let decided: LightState = r >= y && r >= g ? .red : y >= g ? .yellow : .green
        kind = anyPedestrian ? .pedestrian : .vehicle
        position = Position(rawValue: candidates[best].position(frameWidth: frameWidth).rawValue)
        candidate = best
        box = candidates[best]
        masses = (at(best, 0), red(best), green(best), yellow(best))
        let mass = decided == .red ? red(best) : decided == .yellow ? yellow(best) : green(best)
        confidence = mass
        state = decided
        if decided == .green {
            if mass < t.green {
                state = .unknown
                reason = .greenBelowThreshold
                return
            }
            var smallestWalkSide = candidates[best].side
            for n in candidates.indices where n != best && chosen(n) && green(n) >= t.green {
                standbyGreens |= 1 << UInt32(n)
                smallestWalkSide = min(smallestWalkSide, candidates[n].side)
            }
            // A stop lamp far smaller than any lamp that could be the walk lamp is a tail light, a
            // sign or another street's signal, not this signal's stop state.
            let smallestStopSide = (t.redVetoSide ?? 0) * Double(smallestWalkSide)
            for n in candidates.indices
            where inPlay(n) && (anyPedestrian ? at(n, 1) : red(n) + yellow(n)) >= t.redVeto
                && Double(candidates[n].side) >= smallestStopSide {
                vetoingStops |= 1 << UInt32(n)
            }
            if vetoingStops != 0 {
                state = .unknown
                reason = .redLampInView
            }
            return
        }
        if mass < t.abstain {
            state = .unknown
            reason = .unsure
            return
        }
        for n in candidates.indices where n != best && chosen(n) && green(n) >= t.green { disagreeingGreens |= 1 << UInt32(n) }
        if disagreeingGreens != 0 {
            overruled = decided
            state = .unknown
            reason = .candidatesDisagree
        }
    }
}
