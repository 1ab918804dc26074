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
    public private(set) var tracker: SceneTracker
    public private(set) var policy: NarrationPolicy
    /// The newest frame's facts as the heads decided them alone (for debugging and overlays;
    /// never spoken: only the tracker speaks about the light).
    public private(set) var lastFrameFacts: SceneFacts?

    /// What one step produced: the scene as the tracker holds it and what to say now, most
    /// urgent first.
    public struct Moment: Sendable {
        public var scene: TrackedScene
        public var utterances: [Utterance]
    }

    /// `frameRate` is the rate frames will arrive at (nil: the tracker's default of about 10 a
    /// second); it sets how long a gap means a stalled camera.
    public init(model: StreetModel, narration: NarrationConfig = NarrationConfig(), frameRate: Double? = nil) {
        self.model = model
        stream = StreetModel.Stream(model)
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
        try stream.preprocess(image)
        stream.perceive()
        let caption = stream.caption(policy.config.language)
        let reading = FrameReading(stream.heads, configuration: model.configuration)
        lastFrameFacts = reading.facts(time: time, configuration: model.configuration, description: caption)
        let scene = tracker.update(reading.perception(time: time, configuration: model.configuration, description: caption))
        return Moment(scene: scene, utterances: policy.narrate(scene))
    }

    /// The scene at `now` when no new frame came: once the newest frame is too old the scene is
    /// stale and the policy says the camera is blocked (safety rule 2).
    public func idle(at now: Double) -> Moment {
        let scene = tracker.scene(at: now)
        return Moment(scene: scene, utterances: policy.narrate(scene))
    }

    /// The full description on request (the "describe now" button).
    public func describe(at now: Double) -> Moment {
        let scene = tracker.scene(at: now)
        return Moment(scene: scene, utterances: policy.describe(scene))
    }
}
