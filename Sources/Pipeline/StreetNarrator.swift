import Fusion
import Imaging
import Narrator
import Vision

/// Narrates frames in capture order as a walk: each frame through the model, the scene tracker
/// and the narration policy. What `assistd` runs on its camera and `listen describe` on a video,
/// so both say the same thing about the same frames.
///
/// One owner at a time (it holds a model stream's buffers): not shared between threads.
public final class StreetNarrator {
    public let model: StreetModel
    public let stream: StreetModel.Stream
    public let beamWidth: Int
    public private(set) var tracker: SceneTracker
    public private(set) var policy: NarrationPolicy
    /// How long the newest frame's stages took, in seconds.
    public struct StageTimes: Sendable, Hashable {
        /// The frame read (`StreetModel.Stream.readFrame`): preprocessing, the scene model's
        /// encoder, heads and projector, and the signal and obstacle experts, in one dispatch over
        /// the kernel lanes (so not separable into parts).
        public var read = 0.0
        /// The experts' fusion, the decoder's cross-attention keys and values, greedy decoding.
        public var caption = 0.0
        /// Scene tracker and narration policy.
        public var narrate = 0.0
        public var total: Double { read + caption + narrate }
    }

    public private(set) var lastStageTimes = StageTimes()

    /// What one step produced: the scene as the tracker holds it and what to say now, most
    /// urgent first.
    public struct Moment: Sendable {
        public var scene: TrackedScene
        public var utterances: [Utterance]

        public init(scene: TrackedScene, utterances: [Utterance]) {
            self.scene = scene
            self.utterances = utterances
        }

        /// The scene facts (DESIGN.md) to hand to other programs: the tracked light, crosswalk
        /// and obstacles, and a description that states the light as the tracker holds it
        /// followed by the caption (which carries no signal sentences).
        public func facts(language: Language) -> SceneFacts {
            var facts = scene.facts
            facts.description = scene.isStale ? nil : StillDescription.compose(
                facts: facts, caption: scene.description ?? "", language: language, lightStatus: scene.light?.status)
            return facts
        }
    }

    /// `frameRate` is the rate frames will arrive at (nil: the tracker's default of about 10 a
    /// second); it sets how long a gap means a stalled camera.
    /// `beamWidth` 1 captions greedily, more with beam search.
    public init(model: StreetModel, narration: NarrationConfig = NarrationConfig(), frameRate: Double? = nil, beamWidth: Int = 1) {
        self.model = model
        self.beamWidth = max(1, beamWidth)
        stream = StreetModel.Stream(model, beamWidth: self.beamWidth)
        tracker = SceneTracker(config: .tuned(for: model.configuration, frameRate: frameRate))
        policy = NarrationPolicy(config: narration)
    }

    /// The narration settings (language, mode, verbosity); a change applies from the next step.
    public var narration: NarrationConfig {
        get { policy.config }
        set { policy.config = newValue }
    }

    /// Runs one frame captured at `time` (seconds, capture clock; must increase).
    public func observe(_ image: Image, at time: Double) throws(ImagingError) -> Moment {
        let clock = ContinuousClock()
        let start = clock.now
        try stream.readFrame(image)
        let read = clock.now
        // The decoder's sentences about the signal are dropped before anything else sees the
        // caption: only the tracker may state the light (safety rule 1).
        let caption = NarrationPolicy.removingSignalSentences(stream.caption(policy.config.language, beamWidth: beamWidth))
        let captioned = clock.now
        let reading = FrameReading(stream)
        let scene = tracker.update(reading.perception(
            time: time, configuration: model.configuration, description: caption.isEmpty ? nil : caption))
        let moment = Moment(scene: scene, utterances: policy.narrate(scene))
        lastStageTimes = StageTimes(
            read: (read - start).inSeconds, caption: (captioned - read).inSeconds, narrate: (clock.now - captioned).inSeconds)
        return moment
    }

    /// The scene at `now` when no new frame came: once the newest frame is too old the scene is
    /// stale and the policy says the camera is blocked (safety rule 2).
    public func idle(at now: Double) -> Moment {
        let scene = tracker.scene(at: now)
        return Moment(scene: scene, utterances: policy.narrate(scene))
    }

    /// The frames so far are not of the scene the next one shows (a cut in a video): tracking
    /// starts over, and a walk already said is withdrawn until a green is confirmed again.
    public func restartTracking() {
        tracker.restart()
    }

    /// The wearer did not hear `utterance`; see `NarrationPolicy.forget`.
    public func forget(_ utterance: Utterance) {
        policy.forget(utterance)
    }

    /// The scene at `now`, without asking the policy what to say.
    public func scene(at now: Double) -> TrackedScene { tracker.scene(at: now) }

    /// The full description on request (the "describe now" button).
    public func describe(at now: Double) -> Moment {
        let scene = tracker.scene(at: now)
        return Moment(scene: scene, utterances: policy.describe(scene))
    }
}

extension Duration {
    /// The duration as a number of seconds.
    public var inSeconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) * 1e-18
    }
}
