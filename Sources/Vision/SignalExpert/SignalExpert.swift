import Imaging
import Kernels

/// The signal expert: a pedestrian signal across the street is a few pixels in the scene
/// encoder's input, so its state is read near full resolution instead. `LampProposer` finds the
/// lit lamps on the frame; each candidate's crop (the lamp with its housing, the other lamp, the
/// figure) is read by a small ViT; `SignalDecision` turns the candidates into the frame's light.
///
/// Immutable and shared by every stream, like the scene model; per-stream memory lives in
/// `SignalExpert.State`. Mirrors training/lttw/signal_model.py.
public struct SignalExpert: @unchecked Sendable {
    public let configuration: SignalExpertConfiguration
    public let reader: PatchEncoder
    /// fc2(GELU(fc1([embedding, geometry]))).
    let hidden: LinearWeights
    let output: LinearWeights

    /// The candidate's geometry values the head reads (lamps.GEOMETRY): centre x, centre y,
    /// width, height as fractions of the frame, and 1 for the whole-frame candidate.
    public static let geometryCount = 5

    /// Candidates read per frame at most: the proposer's blobs and the whole frame.
    public static var maxCandidates: Int { LampProposer.maxCandidates }

    public init(_ source: some WeightSource, configuration c: SignalExpertConfiguration) throws {
        configuration = c
        let g = c.geometry
        reader = try PatchEncoder(source, geometry: g, prefix: c.weightsPrefix + "encoder")
        let width = c.architecture.headHidden
        hidden = try LinearWeights(source, c.weightsPrefix + "fc1", inputs: 2 * g.width + Self.geometryCount, outputs: width)
        output = try LinearWeights(source, c.weightsPrefix + "fc2", inputs: width, outputs: c.classes.count)
    }

    /// Size of one candidate embedding: the crop reader's class token and its max over patches.
    public var featureWidth: Int { 2 * configuration.architecture.width }

    /// Multiply-adds ×2 of reading one candidate.
    public var flopsPerCandidate: Int {
        let h = configuration.architecture.headHidden
        return configuration.geometry.flops + 2 * h * (featureWidth + Self.geometryCount + configuration.classes.count)
    }

    /// One stream's proposer scratch, crops, activations and results, sized once.
    public final class State {
        let proposer = LampProposer()
        /// This frame's candidates, in the proposer's order.
        public internal(set) var candidates: [LampCandidate]
        let crops: Tensor
        let lanes: [PatchEncoder.State]
        /// Each candidate's embedding and geometry ([maxCandidates, featureWidth + 5]: the
        /// embedding, then `geometryCount` values; rows past `candidates.count` are stale), for
        /// the head and for fusion with the scene expert.
        public let features: Tensor
        let hidden: Tensor
        /// Each candidate's calibrated class probabilities ([maxCandidates, classes]).
        public let probabilities: Tensor
        /// The green confirmation's crops, embeddings, hidden rows and probabilities, one row per
        /// view of the decided candidate ([views, …]; read only when a green needs confirming).
        let viewCrops: Tensor
        let viewFeatures: Tensor
        let viewHidden: Tensor
        public let viewProbabilities: Tensor
        public internal(set) var frameWidth = 0
        public internal(set) var frameHeight = 0

        public init(_ expert: SignalExpert) {
            let g = expert.configuration.geometry
            let n = SignalExpert.maxCandidates
            candidates = []
            candidates.reserveCapacity(n)
            crops = Tensor(shape: [n, g.inputCount])
            lanes = (0..<max(1, Parallel.lanes)).map { _ in PatchEncoder.State(g) }
            features = Tensor(shape: [n, expert.featureWidth + SignalExpert.geometryCount])
            hidden = Tensor(shape: [n, expert.configuration.architecture.headHidden])
            probabilities = Tensor(shape: [n, expert.configuration.classes.count])
            let views = LampCandidate.confirmationViews.count
            viewCrops = Tensor(shape: [views, g.inputCount])
            viewFeatures = Tensor(shape: [views, expert.featureWidth + SignalExpert.geometryCount])
            viewHidden = Tensor(shape: [views, expert.configuration.architecture.headHidden])
            viewProbabilities = Tensor(shape: [views, expert.configuration.classes.count])
        }

        /// The rows one batch of crops is read through.
        var candidateRows: Rows { Rows(crops: crops, features: features, hidden: hidden, probabilities: probabilities) }
        var viewRows: Rows { Rows(crops: viewCrops, features: viewFeatures, hidden: viewHidden, probabilities: viewProbabilities) }

        /// The probabilities of candidate `index`.
        public func probabilities(of index: Int) -> UnsafeBufferPointer<Float> {
            let k = probabilities.shape[1]
            return UnsafeBufferPointer(rebasing: probabilities.storage[(index * k)..<((index + 1) * k)])
        }
    }

    /// Proposes, crops and reads every candidate of `image` (RGB), decides the frame's light and,
    /// when the model confirms greens, reads a green's candidate again through every
    /// confirmation view. `mean` and `std` are the model's preprocessing (the crops are
    /// normalised as training did). Allocates nothing once the stream has seen a frame this large.
    public func read(_ image: Image, mean: [Float], std: [Float], state: State) throws(ImagingError) -> SignalDecision {
        try state.proposer.propose(image, into: &state.candidates)
        state.frameWidth = image.width
        state.frameHeight = image.height
        let g = configuration.geometry
        for (index, candidate) in state.candidates.enumerated() {
            let crop = UnsafeMutableBufferPointer(rebasing: state.crops.storage[(index * g.inputCount)..<((index + 1) * g.inputCount)])
            try LampCrop.sample(image, candidate: candidate, size: g.imageSize, mean: mean, std: std, into: crop)
            // lamps.geometry: one float32 division of exact integers each.
            let geometry = state.features.matrix.row(index) + featureWidth
            geometry[0] = Float(candidate.x0 + candidate.x1) / Float(2 * image.width)
            geometry[1] = Float(candidate.y0 + candidate.y1) / Float(2 * image.height)
            geometry[2] = Float(candidate.x1 - candidate.x0) / Float(image.width)
            geometry[3] = Float(candidate.y1 - candidate.y0) / Float(image.height)
            geometry[4] = candidate.isWholeFrame ? 1 : 0
        }
        readRows(state.candidateRows, count: state.candidates.count, state: state)
        var decision = decide(state)
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
            decision.confirmGreen(smallestViewGreen: smallest(.green, of: best, state: state), thresholds: t)
            // A brighter green sign can outshine the walk lamp: the other candidates that read
            // green get the same test, in order, until one holds.
            for n in state.candidates.indices
            where decision.reason == .greenNotConfirmed && decision.standbyGreens & (1 << UInt32(n)) != 0 {
                try readViews(of: n, image, mean: mean, std: std, state: state)
                let p = state.probabilities(of: n)
                decision.confirmStandby(
                    n, box: state.candidates[n],
                    masses: (Double(p[0]), Double(p[1]) + Double(p[3]), Double(p[2]) + Double(p[5]), Double(p[4])),
                    smallestViewGreen: smallest(.green, of: n, state: state), frameWidth: image.width, thresholds: t)
            }
        } else if decision.reason == .candidatesDisagree {
            // Only a green that would be announced disagrees with a stop.
            var held = false
            for n in state.candidates.indices where !held && decision.disagreeingGreens & (1 << UInt32(n)) != 0 {
                try readViews(of: n, image, mean: mean, std: std, state: state)
                held = smallest(.green, of: n, state: state) >= t.green
            }
            if !held { decision.resolveDisagreement() }
        }
        return decision
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
    /// `state.viewProbabilities`.
    private func readViews(of index: Int, _ image: Image, mean: [Float], std: [Float], state: State) throws(ImagingError) {
        let g = configuration.geometry
        let candidate = state.candidates[index]
        let geometry = state.features.matrix.row(index) + featureWidth
        for view in 0..<LampCandidate.confirmationViews.count {
            let crop = UnsafeMutableBufferPointer(rebasing: state.viewCrops.storage[(view * g.inputCount)..<((view + 1) * g.inputCount)])
            let rect = candidate.confirmationRect(view, frameWidth: image.width, frameHeight: image.height)
            try LampCrop.sample(image, rect: rect, size: g.imageSize, mean: mean, std: std, into: crop)
            (state.viewFeatures.matrix.row(view) + featureWidth).update(from: geometry, count: Self.geometryCount)
        }
        readRows(state.viewRows, count: LampCandidate.confirmationViews.count, state: state)
    }

    /// Class probabilities of confirmation view `view`, as `readViews` left them.
    private func viewProbabilities(_ view: Int, state: State) -> UnsafeBufferPointer<Float> {
        let k = configuration.classes.count
        return UnsafeBufferPointer(rebasing: state.viewProbabilities.storage[(view * k)..<((view + 1) * k)])
    }

    /// Candidate `index`'s smallest `mass` over its own read and the views `readViews` just read.
    private func smallest(_ mass: ViewMass, of index: Int, state: State) -> Double {
        var smallest = mass.of(state.probabilities(of: index))
        for view in 0..<LampCandidate.confirmationViews.count {
            smallest = min(smallest, mass.of(viewProbabilities(view, state: state)))
        }
        return smallest
    }

    /// How many of the views `readViews` just read have `mass` of at least `level`.
    private func viewsReaching(_ level: Double, _ mass: ViewMass, state: State) -> Int {
        var count = 0
        for view in 0..<LampCandidate.confirmationViews.count where mass.of(viewProbabilities(view, state: state)) >= level {
            count += 1
        }
        return count
    }

    /// Reads the first `count` crops of `rows`, split over the lanes when there is more than one.
    private func readRows(_ rows: Rows, count: Int, state: State) {
        guard count > 0 else { return }
        let work = CandidateWork(expert: self, state: state, rows: rows, count: count)
        if Parallel.lanes > 1, Parallel.lanes <= state.lanes.count, count > 1 {
            Parallel.run(work)
        } else {
            work.run(.single)
        }
    }

    /// The decision for the candidates already read into `state`.
    public func decide(_ state: State) -> SignalDecision {
        SignalDecision(
            candidates: state.candidates, probabilities: state.probabilities.storage,
            classes: configuration.classes.count, frameWidth: state.frameWidth, thresholds: configuration.thresholds)
    }

    /// One batch of crops and where their embeddings, hidden rows and probabilities go: the
    /// candidates, or the confirmation views.
    struct Rows {
        let crops: Tensor
        let features: Tensor
        let hidden: Tensor
        let probabilities: Tensor
    }

    /// Crops split round-robin over the lanes; each lane reads its crops alone (a crop is too
    /// small a pass to split).
    private struct CandidateWork: ParallelWork {
        let expert: SignalExpert
        let state: State
        let rows: Rows
        let count: Int

        func run(_ lane: Lane) {
            let encoderState = state.lanes[lane.index]
            var index = lane.index
            while index < count {
                expert.readCrop(index, of: rows, encoder: encoderState)
                index += lane.count
            }
        }
    }

    /// Reads the crop already sampled into row `index` of `rows.crops` (its geometry already in
    /// the features row).
    private func readCrop(_ index: Int, of state: Rows, encoder: PatchEncoder.State) {
        let g = configuration.geometry
        let crop = UnsafeBufferPointer(rebasing: state.crops.storage[(index * g.inputCount)..<((index + 1) * g.inputCount)])
        reader.encodeOnThisThread(crop, state: encoder)

        // feature = [class token, max over the patch tokens]
        let d = g.width
        let tokens = encoder.output.matrix.readOnly
        let feature = state.features.matrix.rows(index..<(index + 1))
        let out = feature.row(0)
        out.update(from: tokens.row(0), count: d)
        let maxima = out + d
        maxima.update(from: tokens.row(1), count: d)
        for t in 2..<g.tokens {
            let row = tokens.row(t)
            for j in 0..<d where row[j] > maxima[j] { maxima[j] = row[j] }
        }
        let hiddenRow = state.hidden.matrix.rows(index..<(index + 1))
        hidden.apply(feature.readOnly, into: hiddenRow, activation: .exact)
        let probabilities = state.probabilities.matrix.rows(index..<(index + 1))
        output.apply(hiddenRow.readOnly, into: probabilities)
        let k = configuration.classes.count
        let p = probabilities.row(0)
        let temperature = Float(configuration.temperature)
        for j in 0..<k { p[j] /= temperature }
        Softmax.applyRow(p, count: k)
    }
}
