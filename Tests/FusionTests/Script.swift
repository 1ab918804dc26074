import Fusion
import Vision

/// Builds scripted frame sequences at a fixed frame rate, the way a camera delivers them.
struct Script {
    var frameInterval = 0.1
    private(set) var frames: [Perception] = []
    /// The index of the next frame; runs ahead of `frames.count` after `skip(_:)`.
    private(set) var nextIndex = 0

    /// The capture time of frame `index` (computed by multiplication so times do not drift).
    func time(ofFrame index: Int) -> Double { Double(index) * frameInterval }

    /// Appends `count` frames each certain of `state` at `confidence`.
    mutating func add(
        _ state: FrameLightClass,
        confidence: Double = 0.95,
        count: Int = 1,
        crosswalk: CrosswalkEvidence = .absent,
        obstacles: [ObstacleDetection] = []
    ) {
        for _ in 0..<count {
            frames.append(
                Perception(
                    time: time(ofFrame: nextIndex),
                    light: LightEvidence(state: .certain(state, confidence: confidence)),
                    crosswalk: crosswalk,
                    obstacles: obstacles
                )
            )
            nextIndex += 1
        }
    }

    /// Appends `count` frames that showed no colour: flat, placed nowhere, as the signal expert's
    /// unknown decision makes them (`SignalDecision.evidence`).
    mutating func addColourless(count: Int = 1) {
        let flat = 1.0 / Double(FrameLightClass.allCases.count)
        let evidence = LightEvidence(
            state: LightStateProbabilities(none: flat, red: flat, green: flat, yellow: flat, off: flat),
            position: nil, seenWithoutColour: true)
        for _ in 0..<count {
            frames.append(Perception(time: time(ofFrame: nextIndex), light: evidence, crosswalk: .absent, obstacles: []))
            nextIndex += 1
        }
    }

    /// Leaves out `count` frames: the camera stalled.
    mutating func skip(_ count: Int) {
        nextIndex += count
    }

    /// Runs the frames through a tracker and returns the light status after each one.
    func statuses(config: SceneTrackerConfig = SceneTrackerConfig()) -> [LightStatus?] {
        var tracker = SceneTracker(config: config)
        return frames.map { tracker.update($0).light?.status }
    }
}

/// Indices at which the status became `status` (an announcement, for the policy).
func onsets(of status: LightStatus, in statuses: [LightStatus?]) -> [Int] {
    statuses.indices.filter { statuses[$0] == status && ($0 == 0 || statuses[$0 - 1] != status) }
}
