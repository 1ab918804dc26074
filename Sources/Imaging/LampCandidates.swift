import CVBridge

/// The colour band of a candidate's lit pixels (lamps.py's hue bands), or the whole frame.
public enum LampColour: Sendable, Hashable, CaseIterable {
    /// Hue 330°–25°.
    case red
    /// Hue 25°–65°.
    case amber
    /// Hue 80°–200°: green, teal and cyan walk lamps.
    case green
    /// The whole-frame candidate: a close-up that may be one signal head.
    case wholeFrame
}

/// Where a candidate sits across the frame, by the position labels' cut-offs (0.36 and 0.64 of
/// the width). Imaging's own small type: the domain's position lives in Vision.
public enum LampPosition: String, Sendable, Hashable, CaseIterable {
    case left, ahead, right
}

/// A place on the frame that may hold a lit signal lamp, as training/lttw/lamps.py proposes it.
///
/// The box is in frame pixels, `x1` and `y1` exclusive. The signal expert reads a crop around
/// it (`cropRect`), so the box only has to land on the lamp, not frame the housing.
public struct LampCandidate: Sendable, Hashable {
    public var x0: Int
    public var y0: Int
    public var x1: Int
    public var y1: Int
    public var colour: LampColour
    /// Mean chroma × 256 over the lit pixels (0…65280): how vivid the blob is. -1 for the whole frame.
    public var score: Int
    /// 1 when found on the proposal image, 2 on that image halved (dotted LED figures merge
    /// there), 3 for a green blob's figure (the square twice its size on it); 0 for the whole frame.
    public var scale: Int

    public init(x0: Int, y0: Int, x1: Int, y1: Int, colour: LampColour, score: Int, scale: Int) {
        self.x0 = x0
        self.y0 = y0
        self.x1 = x1
        self.y1 = y1
        self.colour = colour
        self.score = score
        self.scale = scale
    }

    /// The candidate that is the whole `width`×`height` frame.
    public static func wholeFrame(width: Int, height: Int) -> LampCandidate {
        LampCandidate(x0: 0, y0: 0, x1: width, y1: height, colour: .wholeFrame, score: -1, scale: 0)
    }

    public var isWholeFrame: Bool { colour == .wholeFrame }
    public var width: Int { x1 - x0 }
    public var height: Int { y1 - y0 }
    /// A figure: a green blob's (lamps.figures, the square twice the blob's size on it) or the
    /// lamp figure (lamps.lamp_figures, the square whose crop holds the green mass at 5/4).
    public var isFigure: Bool { scale == LampProposer.figureScale }
    /// The lamp's size when lamps are compared (the red veto's sizes; lamps.Candidate.side): the
    /// box's longer side (the frame's for the whole frame); for a figure, half its box: a blob's
    /// figure's blob, so that reading a walk lamp through its figure never lets a smaller red lamp
    /// escape the veto; for the lamp figure 5/32 of its mass, smaller than its lamp (a red lamp
    /// beside it vetoes sooner; its countdown square is too small: no countdown reader ships).
    public var side: Int {
        let longer = max(x1 - x0, y1 - y0)
        return isFigure ? longer / LampProposer.figureGrowth : longer
    }

    /// The frame rectangle the signal expert reads for this candidate (lamps.crop_rect): a square
    /// of side max(4 × the box's longer side, 16) centred on the box, which may extend past the
    /// frame (black there); the frame itself for the whole-frame candidate.
    public func cropRect(frameWidth: Int, frameHeight: Int) throws(ImagingError) -> PixelRect {
        guard let frameWidth = Int32(exactly: frameWidth), let frameHeight = Int32(exactly: frameHeight) else {
            throw .invalidArgument("lamp crop: frame \(frameWidth)×\(frameHeight) is too large")
        }
        var candidate = try bridged()
        var x: Int32 = 0, y: Int32 = 0, width: Int32 = 0, height: Int32 = 0
        try Bridge.call("lamp crop") {
            cvb_lamp_crop_rect(&candidate, frameWidth, frameHeight, &x, &y, &width, &height, $0)
        }
        return PixelRect(x: Int(x), y: Int(y), width: Int(width), height: Int(height))
    }

    /// The green confirmation's views (lamps.CONFIRMATION_VIEWS), in the order
    /// `confirmationRect` numbers them.
    public static let confirmationViews = ["context 3", "context 5", "right 1/10", "left 1/10", "down 1/10", "up 1/10"]

    /// The square the countdown reader reads beside this lamp (countdown.countdown_rect): the whole
    /// frame for the whole-frame candidate, else max(`context` × `side`, the crop's smallest side)
    /// on the box's centre, which may extend past the frame. Beside the lamp figure it is too
    /// small (its `side` is 5/32 of its green mass): mend before a countdown reader ships.
    public func countdownRect(context: Int, frameWidth: Int, frameHeight: Int) -> PixelRect {
        if isWholeFrame { return PixelRect(x: 0, y: 0, width: frameWidth, height: frameHeight) }
        let side = max(context * self.side, LampProposer.constants.cropMinSide)
        return PixelRect(x: (x0 + x1 - side) >> 1, y: (y0 + y1 - side) >> 1, width: side, height: side)
    }

    /// View `view` (0 ..< `confirmationViews.count`) of this candidate for the green
    /// confirmation (lamps.confirmation_rects, integer for integer): the square at 3 and 5 times
    /// the box's longer side, then the usual crop moved by a tenth of its side right, left, down
    /// and up — all within the jitter the reader was trained on. The whole frame: trimmed by a
    /// sixteenth on every side, by half that, then on the left, right, top or bottom only.
    public func confirmationRect(_ view: Int, frameWidth: Int, frameHeight: Int) -> PixelRect {
        precondition((0..<Self.confirmationViews.count).contains(view), "confirmation view \(view)")
        if isWholeFrame {
            let dx = frameWidth / 16, dy = frameHeight / 16
            switch view {
            case 0: return PixelRect(x: dx, y: dy, width: frameWidth - 2 * dx, height: frameHeight - 2 * dy)
            case 1: return PixelRect(x: dx / 2, y: dy / 2, width: frameWidth - 2 * (dx / 2), height: frameHeight - 2 * (dy / 2))
            case 2: return PixelRect(x: dx, y: 0, width: frameWidth - dx, height: frameHeight)
            case 3: return PixelRect(x: 0, y: 0, width: frameWidth - dx, height: frameHeight)
            case 4: return PixelRect(x: 0, y: dy, width: frameWidth, height: frameHeight - dy)
            default: return PixelRect(x: 0, y: 0, width: frameWidth, height: frameHeight - dy)
            }
        }
        let constants = LampProposer.constants
        func square(_ context: Int) -> PixelRect {
            let side = max(context * max(width, height), constants.cropMinSide)
            // >> 1 is floor division by 2, as Python's // for negative numbers too
            return PixelRect(x: (x0 + x1 - side) >> 1, y: (y0 + y1 - side) >> 1, width: side, height: side)
        }
        switch view {
        case 0: return square(3)
        case 1: return square(5)
        default:
            var r = square(constants.cropContext)
            let shift = r.width / 10
            switch view {
            case 2: r.x += shift
            case 3: r.x -= shift
            case 4: r.y += shift
            default: r.y -= shift
            }
            return r
        }
    }

    /// Left, ahead or right of the wearer, from the box's centre (lamps.position_of): the
    /// whole frame is ahead.
    public func position(frameWidth: Int) -> LampPosition {
        if isWholeFrame { return .ahead }
        let twiceCentre = x0 + x1
        if 100 * twiceCentre < 72 * frameWidth { return .left }
        if 100 * twiceCentre > 128 * frameWidth { return .right }
        return .ahead
    }

    init(_ bridged: cvb_lamp_candidate) {
        let colour: LampColour =
            switch (bridged.whole, bridged.colour) {
            case (0, 1): .red
            case (0, 2): .amber
            case (0, 3): .green
            default: .wholeFrame
            }
        self.init(
            x0: Int(bridged.x0), y0: Int(bridged.y0), x1: Int(bridged.x1), y1: Int(bridged.y1), colour: colour,
            score: Int(bridged.score), scale: Int(bridged.scale))
    }

    func bridged() throws(ImagingError) -> cvb_lamp_candidate {
        guard let x0 = Int32(exactly: x0), let y0 = Int32(exactly: y0), let x1 = Int32(exactly: x1),
              let y1 = Int32(exactly: y1), let score = Int32(exactly: score), let scale = Int32(exactly: scale)
        else { throw .invalidArgument("lamp candidate (\(x0), \(y0))–(\(x1), \(y1)) is out of range") }
        let colour: Int32 =
            switch self.colour {
            case .red: 1
            case .amber: 2
            case .green: 3
            case .wholeFrame: 0
            }
        return cvb_lamp_candidate(
            x0: x0, y0: y0, x1: x1, y1: y1, colour: colour, scale: scale, score: score, whole: isWholeFrame ? 1 : 0)
    }
}

/// Finds the lamp candidates of frames (lamps.propose), box for box and in the same order as
/// the Python that labels and trains the signal expert.
///
/// Owns the working memory (downscaled images, masks, labels, component statistics), sized at
/// creation for frames up to `maxWidth`×`maxHeight` and grown once by a larger frame, so that
/// a stream's frames allocate nothing. One per stream; not for sharing between threads.
public final class LampProposer {
    /// At most 12 blobs, the figures of the green ones among the first 4, the lamp figure framing
    /// the green mass, and the whole frame.
    public static let maxCandidates = Int(CVB_LAMP_MAX_CANDIDATES)
    /// `LampCandidate.scale` of a figure (lamps.FIGURE_SCALE), and a blob's figure's size over its blob's.
    public static let figureScale = 3
    public static let figureGrowth = Int(cvb_lamp_contract_constants().figure_growth)

    /// A frame whose proposal image has no chroma above this shows no colour (lamps.py step 9).
    public static let colourlessChroma = Int(cvb_lamp_contract_constants().colourless_chroma)
    /// A frame whose proposal image's tile means have no chroma above this shows colour only as
    /// sensor noise (lamps.py step 10).
    public static let noiseChroma = Int(cvb_lamp_contract_constants().noise_chroma)

    private let scratch: OpaquePointer
    private let found: UnsafeMutablePointer<cvb_lamp_candidate>
    /// The largest chroma (max − min of a pixel's channels) of the last proposed frame's proposal
    /// image (lamps.frame_chroma); 0 before the first and for gray frames.
    public private(set) var frameChroma = 0

    /// The largest chroma of the last proposed frame's proposal image's tile means
    /// (lamps.tile_chroma); 0 before the first and for gray frames.
    public private(set) var tileChroma = 0

    /// Whether the last proposed frame shows no colour (lamps.colourless): a grey or infrared
    /// camera, in which no lamp can be found by its colour, so "no signal" there is a guess.
    public var lastFrameIsColourless: Bool { frameChroma <= Self.colourlessChroma }

    /// Whether what colour the last proposed frame shows is sensor noise (lamps.colour_is_noise):
    /// a grey or infrared camera's colour noise passes step 9 but cancels in a tile's mean, so
    /// "no signal" there is a guess as well.
    public var lastFrameColourIsNoise: Bool { tileChroma <= Self.noiseChroma }

    /// lamps.colour_classes of RGB pixels (three bytes each): each one's class (0 none, 1 red,
    /// 2 amber, 3 green) and chroma, as the proposer computes them.
    static func colourClasses(
        of rgb: UnsafeBufferPointer<UInt8>, classes: UnsafeMutableBufferPointer<UInt8>, chroma: UnsafeMutableBufferPointer<UInt8>
    ) {
        let count = rgb.count / 3
        precondition(classes.count >= count && chroma.count >= count, "LampProposer.colourClasses: outputs too small")
        guard count > 0 else { return }
        cvb_lamp_colour_classes(rgb.baseAddress, count, classes.baseAddress, chroma.baseAddress)
    }

    public init(maxWidth: Int = 1920, maxHeight: Int = 1080) {
        guard let scratch = cvb_lamp_scratch_create(Int32(clamping: maxWidth), Int32(clamping: maxHeight)) else {
            fatalError("LampProposer: out of memory")
        }
        self.scratch = scratch
        found = .allocate(capacity: Self.maxCandidates)
        found.initialize(repeating: cvb_lamp_candidate(), count: Self.maxCandidates)
    }

    deinit {
        found.deallocate()
        cvb_lamp_scratch_free(scratch)
    }

    /// Replaces `candidates` with the frame's: the kept blobs by rank (at most 12), the green
    /// blobs' figures, the lamp figure, then the whole frame when it qualifies (a frame of at most 320 px a side, or a blob at least 1/8 of
    /// its shorter side).
    ///
    /// Allocates nothing when `candidates` has room for `maxCandidates` and the frame is no
    /// larger than one seen before. A gray image has no lit colour (as an RGB image with equal
    /// channels has none), so only the whole-frame candidate can come from it.
    public func propose(_ image: Image, into candidates: inout [LampCandidate]) throws(ImagingError) {
        candidates.removeAll(keepingCapacity: true)
        var count = 0
        var colour = cvb_frame_colour()
        frameChroma = 0  // a frame that fails to propose is not seen in colour
        tileChroma = 0
        try image.withView { view throws(ImagingError) in
            try Bridge.call("lamp proposal") {
                cvb_lamp_propose(view, scratch, found, Self.maxCandidates, &count, &colour, $0)
            }
        }
        frameChroma = Int(colour.chroma)
        tileChroma = Int(colour.tile_chroma)
        for index in 0..<count { candidates.append(LampCandidate(found[index])) }
    }

    /// The frame's candidates as a new array.
    public func propose(_ image: Image) throws(ImagingError) -> [LampCandidate] {
        var candidates: [LampCandidate] = []
        candidates.reserveCapacity(Self.maxCandidates)
        try propose(image, into: &candidates)
        return candidates
    }
}

/// The signal expert's input for one candidate (lamps.sample_rect and lamps.normalise_crop).
///
/// The crop rectangle is box-averaged to `size`×`size` with integer sums (pixels outside the
/// frame count as black), then per channel `(sum / count / 255 - mean) / std` in float32, CHW:
/// bit-identical to the Python, so the expert sees at run time exactly what it trained on.
public enum LampCrop {
    /// The signal expert's crop side (lamps.CROP_SIZE).
    public static let size = 32

    /// Writes the crop of `rect` (which may extend past the frame) into `output`, which holds at
    /// least channels × size × size floats; `mean` and `std` have one value per channel of
    /// `image`. Allocates nothing.
    public static func sample(
        _ image: Image, rect: PixelRect, size: Int = LampCrop.size, mean: [Float], std: [Float],
        into output: UnsafeMutableBufferPointer<Float>
    ) throws(ImagingError) {
        guard size > 0, let side = Int32(exactly: size), rect.width > 0, rect.height > 0,
              let x = Int32(exactly: rect.x), let y = Int32(exactly: rect.y),
              let width = Int32(exactly: rect.width), let height = Int32(exactly: rect.height)
        else {
            throw .invalidArgument("lamp crop: \(rect.width)×\(rect.height) at (\(rect.x), \(rect.y)) to \(size)×\(size)")
        }
        guard mean.count == image.channels, std.count == image.channels else {
            throw .invalidArgument("lamp crop: \(image.channels)-channel image needs \(image.channels) means and stds, got \(mean.count) and \(std.count)")
        }
        let needed = image.channels * size * size
        guard output.count >= needed, let base = output.baseAddress else {
            throw .invalidArgument("lamp crop: output holds \(output.count) floats, needs \(needed)")
        }
        try image.withView { view throws(ImagingError) in
            try mean.withUnsafeBufferPointer { mean throws(ImagingError) in
                try std.withUnsafeBufferPointer { std throws(ImagingError) in
                    try Bridge.call("lamp crop") {
                        cvb_lamp_sample(
                            view, x, y, width, height, side, mean.baseAddress, std.baseAddress, base, output.count, $0)
                    }
                }
            }
        }
    }

    /// Writes the crop the signal expert reads for `candidate` (its `cropRect`) into `output`.
    public static func sample(
        _ image: Image, candidate: LampCandidate, size: Int = LampCrop.size, mean: [Float], std: [Float],
        into output: UnsafeMutableBufferPointer<Float>
    ) throws(ImagingError) {
        let rect = try candidate.cropRect(frameWidth: image.width, frameHeight: image.height)
        try sample(image, rect: rect, size: size, mean: mean, std: std, into: output)
    }
}

extension LampProposer {
    /// The proposal contract's constants as compiled (lamps.py's module constants); also the
    /// form a model's config.json records them in (`signal_expert.proposals`).
    public struct Constants: Sendable, Hashable, Decodable {
        public var longSide: Int
        public var minBrightness: Int
        public var minSaturationPct: Int
        public var minLit: Int
        public var minFillPct: Int
        public var maxBlobs: Int
        /// How many of the first blobs give a figure candidate, and its size over theirs. A config
        /// written before figures existed has neither (nil), so it differs from this program's and
        /// the model is refused rather than read with candidates it never saw.
        public var figureFrom: Int?
        public var figureGrowth: Int?
        public var wholeFrameMaxSide: Int
        /// 1 when a lamp filling the frame brings the whole frame (lamps.py step 8). A config
        /// calibrated before that rule has none (nil) and is refused, as one without figures is.
        public var wholeFrameFilling: Int?
        /// The lamp figure (lamps.py step 7): the green mass gathered in cells of `clusterCellPct` %
        /// of the proposal image's shorter side, between `clusterMinPct` and `clusterMaxPct` % of
        /// it, the first `clusterMax` of them, each a square of `clusterSideSixteenths`/16 of the
        /// mass's longer side (its crop, four times that, holds the mass at 5/4 of its size). A
        /// config calibrated before lamp figures has none (nil) and is refused.
        public var clusterCellPct: Int?
        public var clusterMinPct: Int?
        public var clusterMaxPct: Int?
        public var clusterMax: Int?
        public var clusterSideSixteenths: Int?
        /// Step 9: the largest chroma of a frame that shows no colour. A config written before the
        /// rule has none (nil) and is refused: its evaluations said "no signal" on such frames.
        public var colourlessChroma: Int?
        /// Step 10: the tile side and the largest tile chroma of a frame whose colour is noise. A
        /// config written before the rule has none (nil) and is refused: its evaluations said "no
        /// signal" on such frames.
        public var noiseTile: Int?
        public var noiseChroma: Int?
        public var cropSize: Int
        public var cropContext: Int
        public var cropMinSide: Int
    }

    /// What this program's proposer and crops were built with; a model trained with other
    /// constants is refused at load.
    public static var constants: Constants {
        let c = cvb_lamp_contract_constants()
        return Constants(
            longSide: Int(c.long_side), minBrightness: Int(c.min_brightness), minSaturationPct: Int(c.min_saturation_pct),
            minLit: Int(c.min_lit), minFillPct: Int(c.min_fill_pct), maxBlobs: Int(c.max_blobs),
            figureFrom: Int(c.figure_from), figureGrowth: Int(c.figure_growth),
            wholeFrameMaxSide: Int(c.whole_frame_max_side), wholeFrameFilling: Int(c.whole_frame_filling),
            clusterCellPct: Int(c.cluster_cell_pct), clusterMinPct: Int(c.cluster_min_pct),
            clusterMaxPct: Int(c.cluster_max_pct), clusterMax: Int(c.cluster_max),
            clusterSideSixteenths: Int(c.cluster_side_sixteenths), colourlessChroma: Int(c.colourless_chroma),
            noiseTile: Int(c.noise_tile), noiseChroma: Int(c.noise_chroma),
            cropSize: Int(c.crop_size), cropContext: Int(c.crop_context),
            cropMinSide: Int(c.crop_min_side))
    }
}
