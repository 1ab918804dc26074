import Imaging
import Kernels

/// The signal expert: a pedestrian signal across the street is a few pixels in the scene
/// encoder's input, so its state is read near full resolution instead. `LampProposer` finds the
/// lit lamps on the frame; each candidate's crop (the lamp with its housing, the other lamp, the
/// figure) is read by a small ViT; `SignalDecision` turns the candidates into the frame's light.
/// With a green verifier, the candidate about to be announced as walk is read once more, at twice
/// the resolution, by a second reader trained on the distractors the first is sure of.
///
/// Immutable and shared by every stream, like the scene model; per-stream memory lives in
/// `SignalExpert.State`. Mirrors training/lttw/signal_model.py.
public struct SignalExpert: @unchecked Sendable {
    /// Validated at load; settable only inside the module (and by `@testable` tests that read a
    /// frame under other thresholds).
    public internal(set) var configuration: SignalExpertConfiguration
    /// Reads every candidate: not a signal, pedestrian red / green, vehicle red / yellow / green.
    public let reader: CropReader
    /// Reads the candidate about to be announced green again at a higher resolution (absent in
    /// models without one).
    public let verifier: GreenVerifierReader?
    /// Reads the seconds of a countdown beside the lamp announced red or green (absent in models
    /// without one).
    public let countdown: CropReader?

    /// The candidate's geometry values the head reads (lamps.GEOMETRY).
    public static let geometryCount = CropReader.geometryCount

    /// Candidates read per frame at most: the proposer's blobs and the whole frame.
    public static var maxCandidates: Int { LampProposer.maxCandidates }

    /// The verifier's squares of one candidate: its own, then the confirmation views.
    public static var verifierViews: Int { 1 + LampCandidate.confirmationViews.count }

    public init(_ source: some WeightSource, configuration c: SignalExpertConfiguration) throws {
        configuration = c
        reader = try CropReader(
            source, geometry: c.geometry, prefix: c.weightsPrefix, headHidden: c.architecture.headHidden,
            classCount: c.classes.count, temperature: c.temperature)
        verifier = try c.greenVerifier.map { try GreenVerifierReader(source, $0) }
        countdown = try c.countdownReader.map {
            try CropReader(
                source, geometry: $0.geometry, prefix: $0.weightsPrefix, headHidden: $0.architecture.headHidden,
                classCount: $0.classes.count, temperature: $0.temperature, softmaxGroups: $0.groups,
                stemChannels: $0.architecture.stemChannelsBetween)
        }
    }

    /// Size of one candidate embedding: the crop reader's class token and its max over patches.
    public var featureWidth: Int { reader.featureWidth }

    /// Multiply-adds ×2 of reading one candidate.
    public var flopsPerCandidate: Int { reader.flopsPerCrop }

    /// One stream's proposer scratch, crops, activations and results, sized once.
    public final class State {
        let proposer = LampProposer()
        /// This frame's candidates, in the proposer's order.
        public internal(set) var candidates: [LampCandidate]
        let lanes: [CropReader.LaneState]
        /// Every candidate's crop, embedding and geometry ([maxCandidates, featureWidth + 5]: the
        /// embedding, then `geometryCount` values; rows past `candidates.count` are stale; for the
        /// head and for fusion with the scene expert) and calibrated class probabilities.
        public let candidateRows: CropReader.Rows
        /// The green confirmation's rows, one per view of the candidate being confirmed (read only
        /// when a green needs confirming).
        public let viewRows: CropReader.Rows
        /// The verifier's rows (its own square, then the views) and lanes; nil without a verifier.
        public let verifierRows: CropReader.Rows?
        let verifierLanes: GreenVerifierReader.Lanes?
        /// The countdown reader's row (the announced lamp's square) and lanes; nil without one.
        public let countdownRows: CropReader.Rows?
        let countdownLanes: [CropReader.LaneState]
        public internal(set) var frameWidth = 0
        public internal(set) var frameHeight = 0

        public init(_ expert: SignalExpert) {
            let n = SignalExpert.maxCandidates
            candidates = []
            candidates.reserveCapacity(n)
            lanes = expert.reader.lanes()
            candidateRows = CropReader.Rows(expert.reader, capacity: n)
            viewRows = CropReader.Rows(expert.reader, capacity: LampCandidate.confirmationViews.count)
            verifierRows = expert.verifier.map { $0.rows(capacity: SignalExpert.verifierViews) }
            verifierLanes = expert.verifier?.lanes()
            countdownRows = expert.countdown.map { CropReader.Rows($0, capacity: 1) }
            countdownLanes = expert.countdown?.lanes() ?? []
        }

        /// Each candidate's embedding and geometry ([maxCandidates, featureWidth + 5]).
        public var features: Tensor { candidateRows.features }
        /// Each candidate's calibrated class probabilities ([maxCandidates, classes]).
        public var probabilities: Tensor { candidateRows.probabilities }
        /// The decided candidate's probabilities in each confirmation view ([views, classes]).
        public var viewProbabilities: Tensor { viewRows.probabilities }
        /// The verifier's green-or-not probabilities of the last candidate it read ([1 + views, 2]).
        public var verifierProbabilities: Tensor? { verifierRows?.probabilities }

        /// The probabilities of candidate `index`.
        public func probabilities(of index: Int) -> UnsafeBufferPointer<Float> { candidateRows.probabilities(index) }
    }

    /// Proposes, crops and reads every candidate of `image` (RGB), decides the frame's light and,
    /// when the model confirms greens, reads a green's candidate again through every
    /// confirmation view (and, with a verifier, through the verifier), and takes the second look
    /// past a green the verifier calls no lamp (`thresholds.setAside`); the figures (the green
    /// blobs' and the lamp figure, `LampCandidate.isFigure`) take part only in a second decision that can end at walk and
    /// nowhere else. `mean` and `std` are the
    /// model's preprocessing (the crops are normalised as training did). Allocates nothing once
    /// the stream has seen a frame this large.
    public func read(_ image: Image, mean: [Float], std: [Float], state: State) throws(ImagingError) -> SignalDecision {
        try propose(image, state: state)
        try reader.read(
            state.candidateRows, count: state.candidates.count, lanes: state.lanes,
            sampling: candidateCrops(image, mean: mean, std: std, state: state))
        return try decideRead(image, mean: mean, std: std, state: state)
    }

    /// `read`'s first step: the frame's candidates, into `state.candidates`.
    func propose(_ image: Image, state: State) throws(ImagingError) {
        try state.proposer.propose(image, into: &state.candidates)
        state.frameWidth = image.width
        state.frameHeight = image.height
    }

    /// `read`'s second step for candidate `index`, on the calling thread with the reader's lane
    /// `lane` (for lanes that share the candidates out with other work, `ExpertReading`).
    func readCandidate(_ index: Int, _ image: Image, mean: [Float], std: [Float], state: State, lane: Int) throws(ImagingError) {
        try reader.read(index, of: state.candidateRows, lane: state.lanes[lane], sampling: candidateCrops(image, mean: mean, std: std, state: state))
    }

    /// How many lanes `readCandidate` can be given (`0..<readerLanes`).
    func readerLanes(_ state: State) -> Int { state.lanes.count }

    private func candidateCrops(_ image: Image, mean: [Float], std: [Float], state: State) -> CandidateCrops {
        CandidateCrops(image: image, candidates: state.candidates, size: reader.geometry.imageSize, mean: mean, std: std)
    }

    /// `read`'s last step, once every candidate is read: the frame's light, with the green
    /// confirmation, the verifier, the figures' second decision and the countdown.
    func decideRead(_ image: Image, mean: [Float], std: [Float], state: State) throws(ImagingError) -> SignalDecision {
        // Figures can add a walk, never a doubt (signal_model.SignalExpertRunner.decide_frame): the
        // frame is decided without them; when that is not walk, it is decided once more with them,
        // and only a walk (confirmed and verified) from that replaces the first decision. A figure
        // holds a whole LED walk figure where its blob holds a sliver; around a green-tinted sign
        // it only reads greener, and must not turn "no signal" into "unknown".
        // With no figure lit, the second decision has the first's lamps and at most more stop lamps,
        // so it cannot walk where the first did not: it is not taken (nor its views read twice).
        var figures: UInt32 = 0
        var figureLit = false
        for (n, candidate) in state.candidates.enumerated() where candidate.isFigure {
            figures |= 1 << UInt32(n)
            figureLit = figureLit || 1 - Double(state.probabilities(of: n)[0]) >= configuration.thresholds.signal
        }
        var decision = try look(image, mean: mean, std: std, state: state, setAside: figures)
        if figureLit, decision.state != .green {
            let walk = try confirmed(decide(state), image, mean: mean, std: std, state: state)
            if walk.state == .green { decision = walk }
        }
        decision.seenWithoutColour(
            colourless: state.proposer.lastFrameIsColourless, colourIsNoise: state.proposer.lastFrameColourIsNoise)
        try readCountdown(&decision, image, mean: mean, std: std, state: state)
        return decision
    }

    /// Reads the seconds beside the lamp a red or green decision announces, once per frame
    /// (countdown.CountdownReader.seconds): the square `context` times the lamp's size on its
    /// centre (the whole frame for the whole-frame candidate); a number only at the threshold.
    private func readCountdown(
        _ decision: inout SignalDecision, _ image: Image, mean: [Float], std: [Float], state: State
    ) throws(ImagingError) {
        guard let countdown, let rows = state.countdownRows, let settings = configuration.countdownReader,
              decision.state == .red || decision.state == .green, let n = decision.candidate
        else { return }
        let rect = state.candidates[n].countdownRect(context: settings.context, frameWidth: image.width, frameHeight: image.height)
        try LampCrop.sample(image, rect: rect, size: countdown.geometry.imageSize, mean: mean, std: std, into: rows.crop(0))
        rows.geometry(0).update(from: state.candidateRows.geometry(n), count: Self.geometryCount)
        countdown.read(rows, count: 1, lanes: state.countdownLanes)
        let read = Self.seconds(of: rows.probabilities(0), tens: settings.groups[0])
        decision.countdownProbability = read.probability
        decision.secondsLeft = read.seconds > 0 && read.probability >= settings.threshold ? read.seconds : nil
    }

    /// The seconds the countdown reader's two groups say (countdown.seconds_of): the most likely
    /// tens (the first of equals) and ones; 0 when the tens say "none" (its probability then) or
    /// the digits make 0; the probability is the product of the two, in Double.
    static func seconds(of p: UnsafeBufferPointer<Float>, tens: Int) -> (seconds: Int, probability: Double) {
        var t = 0
        for c in 1..<tens where p[c] > p[t] { t = c }
        if t == 0 { return (0, Double(p[0])) }
        var o = 0
        for c in 1..<(p.count - tens) where p[tens + c] > p[tens + o] { o = c }
        return (10 * (t - 1) + o, Double(p[t]) * Double(p[tens + o]))
    }

    /// The decision with the candidates in `setAside` taking no part, after its confirmations and
    /// the second look (signal_model.SignalExpertRunner.decide_look).
    private func look(
        _ image: Image, mean: [Float], std: [Float], state: State, setAside aside: UInt32
    ) throws(ImagingError) -> SignalDecision {
        let decision = try confirmed(decide(state, setAside: aside), image, mean: mean, std: std, state: state)
        // The second look (signal_model.sets_aside): a candidate that reads green but that the
        // verifier gives less than even odds is no lamp; the frame is decided once more without
        // it, and that decision stands only when it is a stop (signal_model.SECOND_LOOK_STATES):
        // never walk, and never "no signal" over a red the proposer missed.
        guard let setAside = configuration.thresholds.setAside, decision.doubtsGreen, let n = decision.candidate else { return decision }
        var verifierGreen = decision.verifierGreen
        if verifierGreen == nil { verifierGreen = try verifiedGreen(of: n, image, mean: mean, std: std, state: state) }
        guard let green = verifierGreen, green < setAside else { return decision }
        // Only a stop can stand, and of the decisions that are not one yet only a disagreement can
        // become one (its greens turned down): a green is never confirmed for nothing.
        let first = decide(state, setAside: aside | 1 << UInt32(n))
        guard first.state == .red || first.state == .yellow || first.reason == .candidatesDisagree else { return decision }
        var second = try confirmed(first, image, mean: mean, std: std, state: state)
        guard second.state == .red || second.state == .yellow else { return decision }
        second.recordSetAside(n, box: state.candidates[n], verifierGreen: green)
        return second
    }

    /// `decision` after the green confirmation, the veto's and the disagreement's views and the
    /// verifier (signal_model.SignalExpertRunner.confirmed).
    private func confirmed(
        _ first: SignalDecision, _ image: Image, mean: [Float], std: [Float], state: State
    ) throws(ImagingError) -> SignalDecision {
        var decision = first
        guard configuration.confirmsGreen else { return decision }
        let t = configuration.thresholds
        if decision.reason == .redLampInView {
            // A stop lamp vetoes walk only when it reads as one in at least half of its views too:
            // a tail light or an unlit lamp that looks red in one crop does not silence a green.
            let stop: ViewMass = decision.kind == .pedestrian ? .pedestrianStop : .vehicleStop
            var held = false
            for n in state.candidates.indices where !held && decision.vetoingStops & (1 << UInt32(n)) != 0 {
                try readViews(of: n, image, mean: mean, std: std, state: state)
                held = 2 * viewsReaching(t.redVeto, stop, state: state) >= LampCandidate.confirmationViews.count
            }
            if !held { decision.resolveVeto() }
        }
        if decision.state == .green, let best = decision.candidate {
            try readViews(of: best, image, mean: mean, std: std, state: state)
            decision.confirmGreen(smallestViewGreen: heldGreen(of: best, state: state), thresholds: t)
            // A brighter green sign can outshine the walk lamp: the other candidates that read
            // green get the same test, in order, until one holds.
            for n in state.candidates.indices
            where decision.reason == .greenNotConfirmed && decision.standbyGreens & (1 << UInt32(n)) != 0 {
                try readViews(of: n, image, mean: mean, std: std, state: state)
                decision.confirmStandby(
                    n, box: state.candidates[n], masses: masses(of: n, state: state),
                    smallestViewGreen: heldGreen(of: n, state: state), frameWidth: image.width, thresholds: t)
            }
            if decision.state == .green, let chosen = decision.candidate, let verify = t.verify,
               let green = try verifiedGreen(of: chosen, image, mean: mean, std: std, state: state) {
                decision.confirmVerified(verifierGreen: green, threshold: verify)
                // The verifier turned the walk lamp down: the standbys after it that hold in their
                // views get the verifier in turn, until one convinces it.
                let rest = decision.standbysAfterWalkCandidate
                for n in state.candidates.indices where decision.reason == .greenNotVerified && rest & (1 << UInt32(n)) != 0 {
                    try readViews(of: n, image, mean: mean, std: std, state: state)
                    let held = heldGreen(of: n, state: state)
                    guard held >= t.green, let green = try verifiedGreen(of: n, image, mean: mean, std: std, state: state) else { continue }
                    decision.confirmVerifiedStandby(
                        n, box: state.candidates[n], masses: masses(of: n, state: state),
                        smallestViewGreen: held, verifierGreen: green, frameWidth: image.width, thresholds: t)
                }
            }
        } else if decision.reason == .candidatesDisagree {
            // Only a green that would be announced disagrees with a stop: one that holds in its
            // views (all but `thresholds.viewMisses`) and, with a verifier, convinces it too.
            var held = false
            for n in state.candidates.indices where !held && decision.disagreeingGreens & (1 << UInt32(n)) != 0 {
                try readViews(of: n, image, mean: mean, std: std, state: state)
                held = heldGreen(of: n, state: state) >= t.green
                if held, let verify = t.verify, let green = try verifiedGreen(of: n, image, mean: mean, std: std, state: state) {
                    held = green >= verify
                }
            }
            if !held { decision.resolveDisagreement() }
        }
        return decision
    }

    /// The verifier's smallest green (Double) over candidate `index`'s own square and every
    /// confirmation view (green_verifier.GreenVerifier.smallest_green); nil without a verifier.
    private func verifiedGreen(of index: Int, _ image: Image, mean: [Float], std: [Float], state: State) throws(ImagingError) -> Double? {
        guard let verifier, let rows = state.verifierRows, let lanes = state.verifierLanes else { return nil }
        let views = CandidateViews(
            image: image, candidate: state.candidates[index], geometry: UnsafePointer(state.candidateRows.geometry(index)),
            size: verifier.cropSize, mean: mean, std: std, ownSquareFirst: true)
        try verifier.read(rows, count: Self.verifierViews, lanes: lanes, sampling: views)
        var smallest = Double.infinity
        for view in 0..<Self.verifierViews {
            let green = Double(rows.probabilities(view)[1])
            smallest = min(smallest, green.isNaN ? 0 : green)  // not a number: no green held
        }
        return smallest
    }

    /// Candidate `index`'s masses as a decision carries them: not a signal, red (pedestrian +
    /// vehicle), green (pedestrian + vehicle), yellow, added in Double as `SignalDecision` adds them.
    private func masses(of index: Int, state: State) -> (none: Double, red: Double, green: Double, yellow: Double) {
        let p = state.probabilities(of: index)
        return (Double(p[0]), Double(p[1]) + Double(p[3]), Double(p[2]) + Double(p[5]), Double(p[4]))
    }

    /// The masses the confirmation views are read for, added in Double in the order
    /// `SignalDecision` and the Python add them.
    private enum ViewMass {
        /// Pedestrian + vehicle green.
        case green
        /// A pedestrian stop lamp: its red.
        case pedestrianStop
        /// A vehicle stop lamp: red + yellow (pedestrian red + vehicle red, then vehicle yellow).
        case vehicleStop

        func of(_ p: UnsafeBufferPointer<Float>) -> Double {
            switch self {
            case .green: Double(p[2]) + Double(p[5])
            case .pedestrianStop: Double(p[1])
            case .vehicleStop: Double(p[1]) + Double(p[3]) + Double(p[4])
            }
        }
    }

    /// Reads candidate `index` through every confirmation view (its own geometry each time) into
    /// `state.viewRows`.
    private func readViews(of index: Int, _ image: Image, mean: [Float], std: [Float], state: State) throws(ImagingError) {
        let views = CandidateViews(
            image: image, candidate: state.candidates[index], geometry: UnsafePointer(state.candidateRows.geometry(index)),
            size: reader.geometry.imageSize, mean: mean, std: std, ownSquareFirst: false)
        try reader.read(state.viewRows, count: LampCandidate.confirmationViews.count, lanes: state.lanes, sampling: views)
    }

    /// Each candidate's crop and geometry (lamps.crop and lamps.geometry).
    private struct CandidateCrops: CropSampling {
        let image: Image
        let candidates: [LampCandidate]
        let size: Int
        let mean: [Float]
        let std: [Float]

        func sample(_ index: Int, into rows: CropReader.Rows) throws(ImagingError) {
            let candidate = candidates[index]
            try LampCrop.sample(image, candidate: candidate, size: size, mean: mean, std: std, into: rows.crop(index))
            // lamps.geometry: one float32 division of exact integers each.
            let geometry = rows.geometry(index)
            geometry[0] = Float(candidate.x0 + candidate.x1) / Float(2 * image.width)
            geometry[1] = Float(candidate.y0 + candidate.y1) / Float(2 * image.height)
            geometry[2] = Float(candidate.x1 - candidate.x0) / Float(image.width)
            geometry[3] = Float(candidate.y1 - candidate.y0) / Float(image.height)
            geometry[4] = candidate.isWholeFrame ? 1 : 0
        }
    }

    /// One candidate's squares at `size`: with `ownSquareFirst` its own crop in row 0 and the
    /// confirmation views after it (the verifier's rows), else the views alone (the reader's);
    /// every row with the candidate's own geometry.
    private struct CandidateViews: CropSampling {
        let image: Image
        let candidate: LampCandidate
        /// The candidate's geometry row, written when the candidates were read.
        let geometry: UnsafePointer<Float>
        let size: Int
        let mean: [Float]
        let std: [Float]
        let ownSquareFirst: Bool

        func sample(_ index: Int, into rows: CropReader.Rows) throws(ImagingError) {
            let view = ownSquareFirst ? index - 1 : index
            if view < 0 {
                try LampCrop.sample(image, candidate: candidate, size: size, mean: mean, std: std, into: rows.crop(index))
            } else {
                let rect = candidate.confirmationRect(view, frameWidth: image.width, frameHeight: image.height)
                try LampCrop.sample(image, rect: rect, size: size, mean: mean, std: std, into: rows.crop(index))
            }
            rows.geometry(index).update(from: geometry, count: SignalExpert.geometryCount)
        }
    }

    /// The green candidate `index` holds over its own read and the views `readViews` just read:
    /// the smallest once `thresholds.viewMisses` of the lowest are set aside
    /// (signal_model.held_green). Sorted on the stack: nothing is allocated per frame.
    private func heldGreen(of index: Int, state: State) -> Double {
        let views = LampCandidate.confirmationViews.count
        let misses = configuration.thresholds.viewMisses ?? 0
        return withUnsafeTemporaryAllocation(of: Double.self, capacity: 1 + views) { reads in
            // A read that is not a number holds no green (and would stop the sort below).
            func held(_ mass: Double) -> Double { mass.isNaN ? 0 : mass }
            reads[0] = held(ViewMass.green.of(state.probabilities(of: index)))
            for view in 0..<views { reads[1 + view] = held(ViewMass.green.of(state.viewRows.probabilities(view))) }
            // Insertion sort of seven: no buffer, unlike the standard library's sort.
            for i in 1..<reads.count {
                let read = reads[i]
                var j = i
                while j > 0 && reads[j - 1] > read {
                    reads[j] = reads[j - 1]
                    j -= 1
                }
                reads[j] = read
            }
            return reads[min(misses, views)]
        }
    }

    /// How many of the views `readViews` just read have `mass` of at least `level` (a stop lamp's
    /// views, for the red veto: a read that is not a number counts as holding the stop).
    private func viewsReaching(_ level: Double, _ mass: ViewMass, state: State) -> Int {
        var count = 0
        for view in 0..<LampCandidate.confirmationViews.count where !(mass.of(state.viewRows.probabilities(view)) < level) {
            count += 1
        }
        return count
    }

    /// The decision for the candidates already read into `state`, those in `setAside` (bit n =
    /// candidate n) taking no part.
    public func decide(_ state: State, setAside: UInt32 = 0) -> SignalDecision {
        SignalDecision(
            candidates: state.candidates, probabilities: state.probabilities.storage,
            classes: configuration.classes.count, frameWidth: state.frameWidth, thresholds: configuration.thresholds,
            setAside: setAside)
    }
}
