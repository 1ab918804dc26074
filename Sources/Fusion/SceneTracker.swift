import Vision

/// Turns per-frame perceptions into a stable scene: the pedestrian hears the street, not the
/// classifier's flicker.
///
/// A value type and a pure state machine: feed frames in capture order with `update(_:)`, ask
/// for the scene at any moment with `scene(at:)`. It owns no clock and no threads, so scripted
/// sequences test it exactly.
///
/// The light rules, in order (see `SceneTrackerConfig` for the numbers):
/// - Green is reported only after a run of consecutive frames, each confident in green, long
///   enough in both frames and time, with no flashing in view (safety rule 1).
/// - A confirmed green is withdrawn by the first clearly contrary frame.
/// - Red wins over everything else as soon as one frame is sure of it or its average is high
///   enough.
/// - Lit/dark alternation is flashing; a green run cannot be confirmed through it.
/// - Other states enter and leave with hysteresis on their averaged probability.
/// - No fresh frame, no light at all (safety rule 2); a gap restarts tracking from scratch.
public struct SceneTracker: Sendable {
    public var config: SceneTrackerConfig

    private var frames: [FrameSample] = []
    private var greenRun: GreenRun?
    private var status: LightStatus?
    private var statusSince = 0.0
    private var lightChanged = false
    private var crosswalkPresent = false
    private var crosswalkOffset = Position.ahead
    private var obstacleTracks: [ObstacleKey: [ObstacleHit]] = [:]
    /// The newest frame's caption, only the sentences the tracked facts back.
    private var newestDescription: String?

    /// Frames dropped because their capture time was not after the newest frame's (or was not a
    /// number at all).
    public private(set) var outOfOrderFrames = 0

    /// Durations are compared with this slack so that frame times built by repeated addition
    /// (0.1 + 0.1 + …) confirm on the frame the configuration names, not one later.
    private static let timeTolerance = 1e-6

    public init(config: SceneTrackerConfig = SceneTrackerConfig()) {
        self.config = config
    }

    /// Takes one frame and returns the scene as of its capture time. Frames not newer than the
    /// newest one, or with a non-finite time, are dropped (counted in `outOfOrderFrames`): a late
    /// frame must not rewrite the present.
    @discardableResult
    public mutating func update(_ perception: Perception) -> TrackedScene {
        guard perception.time.isFinite else {
            outOfOrderFrames += 1
            return scene(at: frames.last?.time ?? 0)
        }
        if let newest = frames.last?.time {
            guard perception.time > newest else {
                outOfOrderFrames += 1
                return scene(at: newest)
            }
            if perception.time - newest > config.freshness.maxAge {
                restart()
            }
        }
        let sample = FrameSample(perception)
        frames.append(sample)
        let horizon = max(config.smoothingWindow, config.flashWindow, config.obstacleWindow)
        frames.removeAll { perception.time - $0.time > horizon + Self.timeTolerance }

        updateGreenRun(with: sample)
        let next = nextLightStatus(newest: sample)
        lightChanged = next != status
        if lightChanged {
            status = next
            statusSince = sample.time
        }
        updateCrosswalk()
        updateObstacles(perception)
        // Only what the tracked facts back (safety rule 5): no crossing or obstacle the tracker
        // does not hold reaches /facts, the event stream or "describe". Checked once per frame;
        // the facts it is checked against change only here.
        newestDescription = perception.description.flatMap { caption in
            let backed = CaptionGuard.supported(
                caption, crosswalk: trackedCrosswalk(), obstacles: trackedObstacles(at: perception.time))
            return backed.isEmpty ? nil : backed
        }
        return scene(at: perception.time)
    }

    /// The scene at `now` (capture clock). Stale when there is no frame or the newest is older
    /// than `config.freshness` allows; a stale scene has no light, crosswalk or obstacles.
    public func scene(at now: Double) -> TrackedScene {
        guard let newest = frames.last, config.freshness.isFresh(frameTime: newest.time, now: now), let status else {
            return TrackedScene(
                time: now, frameTime: frames.last?.time, isStale: true, light: nil, crosswalk: nil,
                obstacles: [], description: nil, lightChanged: false
            )
        }
        return TrackedScene(
            time: now,
            frameTime: newest.time,
            isStale: false,
            light: trackedLight(status: status, newest: newest),
            crosswalk: trackedCrosswalk(),
            obstacles: trackedObstacles(at: newest.time),
            description: newestDescription,
            lightChanged: lightChanged
        )
    }

    // MARK: - Light

    /// Forgets every frame: the next one starts tracking afresh, as after a gap longer than the
    /// freshness limit (a cut between two clips of one video: what held before it is not
    /// evidence after it, and a green must be confirmed again).
    public mutating func restart() {
        frames.removeAll()
        greenRun = nil
        status = nil
        crosswalkPresent = false
        crosswalkOffset = .ahead
        obstacleTracks.removeAll()
    }

    private mutating func updateGreenRun(with sample: FrameSample) {
        guard sample.light.green >= config.greenFrameProbability else {
            greenRun = nil
            return
        }
        if var run = greenRun {
            run.frames += 1
            run.last = sample.time
            greenRun = run
        } else {
            greenRun = GreenRun(first: sample.time, last: sample.time, frames: 1)
        }
    }

    private func greenIsConfirmed(flashing: Bool, average: LightStateProbabilities) -> Bool {
        guard let run = greenRun, !flashing else { return false }
        return run.frames >= config.greenConfirmFrames
            && run.last - run.first + Self.timeTolerance >= config.greenConfirmDuration
            && average.green >= config.stateEnterProbability
    }

    private func nextLightStatus(newest: FrameSample) -> LightStatus {
        let average = averagedLight(since: newest.time - config.smoothingWindow)
        let flashing = isFlashing(now: newest.time)

        if status == .green, newest.light.green >= config.greenReleaseProbability, !flashing {
            return .green
        }
        if greenIsConfirmed(flashing: flashing, average: average) {
            return .green
        }
        if newest.light.red >= config.redImmediateProbability || average.red >= config.stateEnterProbability {
            return .red
        }
        if flashing {
            return .flashing
        }
        if let current = status, [.red, .yellow, .off, .none].contains(current),
           let currentClass = FrameLightClass(rawValue: current.rawValue),
           average[currentClass] >= config.stateHoldProbability {
            return current
        }
        let best = average.mostLikely
        guard best.probability >= config.stateEnterProbability else {
            if status == .green { return .changing }
            let stillChanging = status == .changing && newest.time - statusSince < config.changingHoldTime - Self.timeTolerance
            if stillChanging { return .changing }
            // Entered when every frame of the window shows no colour, left only once half of them
            // show some: a camera whose colour hovers at the bound (night, an infrared filter
            // switching) must not turn one stray coloured frame into two sentences.
            let share = colourlessShare(now: newest.time)
            return (status == .noColour ? share >= 0.5 : share == 1) ? .noColour : .unclear
        }
        switch best.state {
        case .green: return .changing
        case .red: return .red
        case .yellow: return .yellow
        case .off: return .off
        case .none: return .none
        }
    }

    /// The share of the smoothing window's frames that showed no colour: while some frames show
    /// colour the camera can see it, and the trouble is the street's. One pass, no array.
    private func colourlessShare(now: Double) -> Double {
        var colourless = 0, count = 0
        for frame in frames where now - frame.time <= config.smoothingWindow + Self.timeTolerance {
            count += 1
            if frame.seenWithoutColour { colourless += 1 }
        }
        return count == 0 ? 0 : Double(colourless) / Double(count)
    }

    private func averagedLight(since start: Double) -> LightStateProbabilities {
        var sum = LightStateProbabilities()
        var count = 0.0
        for frame in frames where frame.time + Self.timeTolerance > start {
            for state in FrameLightClass.allCases {
                sum[state] += frame.light[state]
            }
            count += 1
        }
        guard count > 0 else { return LightStateProbabilities() }
        for state in FrameLightClass.allCases {
            sum[state] /= count
        }
        return sum
    }

    /// Counts lit/dark alternations among the confident frames of the flash window.
    private func isFlashing(now: Double) -> Bool {
        var transitions = 0
        var previousLit: Bool?
        for frame in frames where now - frame.time <= config.flashWindow + Self.timeTolerance {
            let best = frame.light.mostLikely
            guard best.probability >= config.flashFrameProbability, best.state != .none else { continue }
            let lit = best.state != .off
            if let previousLit, previousLit != lit {
                transitions += 1
            }
            previousLit = lit
        }
        let needed = status == .flashing ? config.flashHoldTransitions : config.flashEnterTransitions
        return transitions >= needed
    }

    private func trackedLight(status: LightStatus, newest: FrameSample) -> TrackedLight {
        // Kind and place come from the recent frames that found a lamp (the newest of them for the
        // place): a frame without one (no signal, no colour, unread) neither moves a held red nor
        // puts a signal "ahead" that no frame saw.
        // One pass, no array: this runs on every frame.
        var pedestrianSum = 0.0, lampFrames = 0
        var position: Position?
        for frame in frames where newest.time - frame.time <= config.smoothingWindow + Self.timeTolerance {
            guard let place = frame.lightPosition else { continue }
            pedestrianSum += frame.pedestrianProbability
            lampFrames += 1
            position = place
        }
        let average = averagedLight(since: newest.time - config.smoothingWindow)
        let pedestrian = lampFrames == 0 ? nil : pedestrianSum / Double(lampFrames)
        let confidence: Double =
            switch status {
            case .none: average.none
            case .red: average.red
            case .yellow: average.yellow
            case .green: average.green
            case .off: average.off
            case .flashing:
                average.off + max(average.red, average.green, average.yellow)
            case .unclear, .noColour, .changing: average.mostLikely.probability
            }
        return TrackedLight(
            status: status,
            kind: status == .none ? nil : pedestrian.map { $0 >= 0.5 ? .pedestrian : .vehicle },
            position: status == .none ? nil : position,
            confidence: confidence,
            since: statusSince,
            // Only the newest frame's seconds, and only beside a lamp read in the state the tracker
            // holds: a countdown is never carried over from an older frame or another state.
            secondsLeft: newest.countdown.flatMap { $0.state == status.factsState && (status == .green || status == .red) ? $0.seconds : nil }
        )
    }

    // MARK: - Crosswalk

    private mutating func updateCrosswalk() {
        guard let newest = frames.last else { return }
        let recent = frames.filter { newest.time - $0.time <= config.smoothingWindow + Self.timeTolerance }
        let presence = recent.map(\.crosswalk.presence).reduce(0, +) / Double(recent.count)
        if crosswalkPresent {
            crosswalkPresent = presence >= config.crosswalkExitProbability
        } else {
            crosswalkPresent = presence >= config.crosswalkEnterProbability
        }
        var offset = PositionProbabilities()
        for frame in recent {
            for position in Position.allCases {
                offset[position] += frame.crosswalk.offset[position] / Double(recent.count)
            }
        }
        let best = offset.mostLikely
        if best != crosswalkOffset, offset[best] - offset[crosswalkOffset] >= config.crosswalkOffsetMargin {
            crosswalkOffset = best
        }
    }

    private func trackedCrosswalk() -> SceneFacts.Crosswalk? {
        guard let newest = frames.last else { return nil }
        let recent = frames.filter { newest.time - $0.time <= config.smoothingWindow + Self.timeTolerance }
        let presence = recent.map(\.crosswalk.presence).reduce(0, +) / Double(recent.count)
        guard crosswalkPresent else {
            return SceneFacts.Crosswalk(present: false, offset: nil, headingDegrees: nil, confidence: 1 - presence)
        }
        let seen = recent.filter { $0.crosswalk.presence >= 0.5 }
        let heading = seen.isEmpty ? nil : seen.map(\.crosswalk.headingDegrees).reduce(0, +) / Double(seen.count)
        return SceneFacts.Crosswalk(present: true, offset: crosswalkOffset, headingDegrees: heading, confidence: presence)
    }

    // MARK: - Obstacles

    private mutating func updateObstacles(_ perception: Perception) {
        for detection in perception.obstacles where detection.confidence >= config.obstacleMinConfidence {
            let key = ObstacleKey(kind: detection.kind, position: detection.position)
            obstacleTracks[key, default: []].append(
                ObstacleHit(time: perception.time, distance: detection.distance, confidence: detection.confidence)
            )
        }
        for key in obstacleTracks.keys {
            obstacleTracks[key]?.removeAll { perception.time - $0.time > config.obstacleWindow + Self.timeTolerance }
            if obstacleTracks[key]?.isEmpty == true {
                obstacleTracks[key] = nil
            }
        }
    }

    /// Obstacles seen often enough and recently enough, nearest first, then ahead before the
    /// sides. The distance reported is the nearest in the window: erring closer is the safe way.
    private func trackedObstacles(at time: Double) -> [SceneFacts.Obstacle] {
        var result: [SceneFacts.Obstacle] = []
        for (key, hits) in obstacleTracks {
            guard let last = hits.last, time - last.time <= config.obstacleHoldTime + Self.timeTolerance else { continue }
            let immediate = key.position == .ahead && last.distance == .near
                && last.confidence >= config.obstacleImmediateConfidence
            guard hits.count >= config.obstacleMinFrames || immediate else { continue }
            let nearest = hits.map(\.distance).min { $0.order < $1.order } ?? last.distance
            let confidence = hits.map(\.confidence).reduce(0, +) / Double(hits.count)
            result.append(SceneFacts.Obstacle(kind: key.kind, position: key.position, distance: nearest, confidence: confidence))
        }
        return result.sorted {
            ($0.distance.order, $0.position.order, $0.kind) < ($1.distance.order, $1.position.order, $1.kind)
        }
    }
}

// MARK: - Private state

private struct FrameSample: Sendable {
    var time: Double
    var light: LightStateProbabilities
    var pedestrianProbability: Double
    /// nil when the frame found no lamp.
    var lightPosition: Position?
    var countdown: LightEvidence.Countdown?
    var seenWithoutColour: Bool
    var crosswalk: CrosswalkEvidence

    init(_ perception: Perception) {
        time = perception.time
        // A frame whose light head gave nothing usable counts as fully uncertain (uniform),
        // which can neither confirm green nor hold any state.
        let uniform = 1.0 / Double(FrameLightClass.allCases.count)
        light = perception.light.state.normalized()
            ?? LightStateProbabilities(none: uniform, red: uniform, green: uniform, yellow: uniform, off: uniform)
        pedestrianProbability = perception.light.pedestrianProbability
        lightPosition = perception.light.position
        countdown = perception.light.countdown
        seenWithoutColour = perception.light.seenWithoutColour
        crosswalk = perception.crosswalk
    }
}

private struct GreenRun: Sendable {
    var first: Double
    var last: Double
    var frames: Int
}

private struct ObstacleKey: Sendable, Hashable {
    var kind: String
    var position: Position
}

private struct ObstacleHit: Sendable {
    var time: Double
    var distance: Distance
    var confidence: Double
}

extension Distance {
    /// Near first: the order obstacles are reported in.
    fileprivate var order: Int {
        switch self {
        case .near: 0
        case .mid: 1
        case .far: 2
        }
    }
}

extension Position {
    /// Ahead first: what the wearer walks into comes before what is beside them.
    fileprivate var order: Int {
        switch self {
        case .ahead: 0
        case .left: 1
        case .right: 2
        }
    }
}
