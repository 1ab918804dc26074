import Foundation
import Fusion
import Logging
import Narrator
import Pipeline
import Synchronization
import Vision

/// What the API can ask of the pipeline.
enum DaemonCommand: Sendable {
    case pause
    case resume
    case mode(NarrationMode)
    case verbosity(Verbosity)
    case language(Language)
    /// A configuration reload: the narration settings the file changed (`before` → `after`), and
    /// only those, so a language the wearer chose through the API survives an unrelated edit.
    case reload(before: NarrationConfig, after: NarrationConfig)
    case describeNow
    case repeatLast
}

/// What a command did.
enum CommandOutcome: Sendable {
    /// Done; these utterances were queued in answer (as the wearer will hear them).
    case said([Utterance])
    /// Describe or repeat while narration is paused: nothing is analysed, so nothing current
    /// can be said.
    case paused
}

/// Runs the model, the tracker and the policy on the newest frame at the analysis rate, on a
/// thread of its own, and hands what to say to the speech queue and the event stream.
///
/// Frames are never queued: each tick takes the newest captured frame, and a frame older than
/// the tracker's freshness limit is not analysed at all (a stalled camera or a lagging pipeline
/// never produces a light state, safety rule 2); the scene then turns stale and the policy says
/// the camera is blocked.
final class NarrationWorker: Sendable {
    private struct PendingCommand: Sendable {
        var command: DaemonCommand
        var reply: CheckedContinuation<CommandOutcome, Never>
    }

    /// Only the worker thread touches the narrator (it holds the model's per-stream buffers).
    private final class ThreadOwned: @unchecked Sendable {
        let narrator: StreetNarrator
        init(_ narrator: StreetNarrator) { self.narrator = narrator }
    }

    private let owned: ThreadOwned
    private let feed: CameraFeed
    private let truth: SpokenTruth
    private let speech: SpeechQueue
    private let state: DaemonState
    private let hub: EventHub
    private let metrics: DaemonMetrics
    private let logger: Logger
    private let rate: Double
    private let maxFrames: Int
    private let commands = Mutex<[PendingCommand]>([])
    /// Utterances the wearer did not hear (dropped or cut off), for the policy to forget.
    private let unheard = Mutex<[Utterance]>([])
    private let thread = DaemonThread(name: "assistd.narration")

    init(
        narrator: StreetNarrator, feed: CameraFeed, truth: SpokenTruth, speech: SpeechQueue, state: DaemonState, hub: EventHub,
        metrics: DaemonMetrics, logger: Logger, rate: Double, maxFrames: Int
    ) {
        owned = ThreadOwned(narrator)
        self.feed = feed
        self.truth = truth
        self.speech = speech
        self.state = state
        self.hub = hub
        self.metrics = metrics
        self.logger = logger
        self.rate = rate
        self.maxFrames = maxFrames
    }

    /// How old a frame may be when it is analysed.
    private var maxFrameAge: Double { truth.maxFrameAge }

    func start() { thread.start { [self] in run() } }

    func stop() { thread.stop() }

    var isRunning: Bool { thread.isRunning }

    /// The wearer did not hear `utterance`: the policy forgets it said it at the next tick, so
    /// that what still holds is said again (see `NarrationPolicy.forget`). Any thread.
    func notHeard(_ utterance: Utterance) {
        unheard.withLock { $0.append(utterance) }
    }

    /// Queues a command for the worker thread and returns what it said in answer (describe and
    /// repeat speak; the others say nothing).
    func perform(_ command: DaemonCommand) async -> CommandOutcome {
        await withCheckedContinuation { reply in
            let accepted = commands.withLock { pending -> Bool in
                guard !thread.isStopRequested else { return false }
                pending.append(PendingCommand(command: command, reply: reply))
                return true
            }
            if !accepted { reply.resume(returning: .said([])) }
        }
    }

    // MARK: - The worker thread

    private var stopped: Bool { thread.isStopRequested }

    /// While the camera is still being opened for the first time, "camera blocked" waits this
    /// long (seconds since start): a camera takes a moment to deliver its first frame.
    static let startGrace = 3.0

    /// How long analyses may keep ending past the freshness limit before the wearer hears that
    /// the camera is blocked (see `AnalysisTimeliness`).
    static let lateGrace = 1.0

    private func run() {
        let narrator = owned.narrator
        var lastSequence = 0
        var lastCapturedAt = -Double.infinity
        var timeliness = AnalysisTimeliness(maxFrameAge: maxFrameAge, grace: Self.lateGrace)
        var analysed = 0
        say([Utterance(message: .ready, text: Phrasebook(language: narrator.narration.language).text(for: .ready),
                       language: narrator.narration.language, priority: .info, topic: .camera, interrupts: false)])
        state.update { $0.activity = .running }
        while !stopped {
            let tickStart = state.now
            for utterance in unheard.withLock({ pending in defer { pending.removeAll() }; return pending }) {
                narrator.forget(utterance)
            }
            handleCommands(narrator)
            if state.read().activity == .paused {
                wait(until: tickStart + 1 / rate)
                continue
            }
            let moment: StreetNarrator.Moment
            let newest = feed.newest().flatMap { $0.sequence != lastSequence ? $0 : nil }
            if let newest { lastSequence = newest.sequence }
            // A repeat of the picture last analysed (a frozen camera dates its copies to the first)
            // is not a new frame: analysing it again would only slow a small board down.
            if let frame = newest, frame.capturedAt != lastCapturedAt {
                lastCapturedAt = frame.capturedAt
                let now = state.now
                if now - frame.capturedAt > maxFrameAge {
                    metrics.staleFrames.increment()
                    moment = narrator.idle(at: now)
                } else {
                    do {
                        let observed = try narrator.observe(frame.image, at: frame.capturedAt)
                        analysed += 1
                        let finished = state.now
                        record(narrator.lastStageTimes, at: finished)
                        let verdict = timeliness.judge(capturedAt: frame.capturedAt, finishedAt: finished)
                        if verdict != .inTime {
                            // Too late to speak from: unsaid, and forgotten by the policy.
                            metrics.staleFrames.increment()
                            observed.utterances.reversed().forEach(narrator.forget)
                        }
                        switch verdict {
                        case .inTime:
                            moment = observed
                        case .late(let first):
                            if first {
                                logger.warning("a frame's analysis ended past the freshness limit; nothing is said from it",
                                               metadata: ["age_s": "\(finished - frame.capturedAt)", "limit_s": "\(maxFrameAge)"])
                            }
                            moment = StreetNarrator.Moment(scene: observed.scene, utterances: [])
                        case .stale:
                            moment = narrator.idle(at: finished)
                        }
                    } catch {
                        logger.warning("frame could not be analysed", metadata: ["error": "\(error)"])
                        moment = narrator.idle(at: state.now)
                    }
                }
            } else if state.read().camera == .starting, state.now < Self.startGrace {
                // The camera is still opening: nothing to say yet, not even "camera blocked".
                moment = StreetNarrator.Moment(scene: narrator.scene(at: state.now), utterances: [])
            } else {
                moment = narrator.idle(at: state.now)
            }
            state.update { $0.scene = moment.scene }
            hub.publish("facts", FactsEvent(moment, language: narrator.narration.language, now: state.now, maxAge: maxFrameAge))
            say(moment.utterances)
            if maxFrames > 0, analysed >= maxFrames {
                logger.notice("analysed the requested number of frames", metadata: ["frames": "\(analysed)"])
                break
            }
            wait(until: tickStart + 1 / rate)
        }
        let leftover = commands.withLock { pending -> [PendingCommand] in
            defer { pending.removeAll() }
            return pending
        }
        for command in leftover { command.reply.resume(returning: .said([])) }
    }

    private func record(_ times: StreetNarrator.StageTimes, at now: Double) {
        let newlyDropped = state.update { snapshot -> Int in
            snapshot.framesAnalysed += 1
            snapshot.lastFrameAt = now
            snapshot.stages.record(times)
            snapshot.analysedTimes.append(now)
            if snapshot.analysedTimes.count > 256 { snapshot.analysedTimes.removeFirst(snapshot.analysedTimes.count - 256) }
            let dropped = max(0, snapshot.framesCaptured - snapshot.framesAnalysed)
            defer { snapshot.framesDropped = dropped }
            return max(0, dropped - snapshot.framesDropped)
        }
        metrics.framesAnalysed.increment()
        if newlyDropped > 0 { metrics.framesDropped.increment(by: Int64(newlyDropped)) }
        for (stage, value) in zip(StageWindow.stages, StageWindow.values(times)) {
            metrics.stageSeconds[stage]?.recordNanoseconds(Int64(value * 1e9))
        }
    }

    /// Queues `utterances` for speech and returns them as they will be spoken (with the camera
    /// gone, "camera blocked" is said as "camera lost"), so that an API reply names what the
    /// wearer hears. The log says "queued" here; "said" is logged only once the audio was
    /// produced (see `Daemon.run`), so a speech failure is never logged as said.
    @discardableResult
    private func say(_ utterances: [Utterance]) -> [Utterance] {
        guard !utterances.isEmpty else { return [] }
        let utterances = state.read().camera == .lost ? utterances.map(naming(lost: owned.narrator)) : utterances
        let now = state.now
        speech.enqueue(utterances)
        for utterance in utterances {
            metrics.utterances.increment()
            logger.info("queued for speech", metadata: ["text": "\(utterance.text)", "priority": "\(utterance.priority)"])
            hub.publish("utterance", UtteranceEvent(utterance, time: now))
        }
        return utterances
    }

    /// With the camera known to be gone, "camera blocked" becomes "camera lost".
    private func naming(lost narrator: StreetNarrator) -> (Utterance) -> Utterance {
        let book = Phrasebook(language: narrator.narration.language, directions: narrator.narration.directions)
        return { utterance in
            guard utterance.message == .cameraBlocked else { return utterance }
            var renamed = utterance
            renamed.message = .cameraLost
            renamed.text = book.text(for: .cameraLost)
            return renamed
        }
    }

    private func handleCommands(_ narrator: StreetNarrator) {
        let pending = commands.withLock { pending -> [PendingCommand] in
            defer { pending.removeAll() }
            return pending
        }
        for item in pending {
            var said: [Utterance] = []
            switch item.command {
            case .pause:
                speech.interrupt()
                state.update { $0.activity = .paused }
            case .resume:
                state.update { $0.activity = .running }
            case .mode(let mode):
                narrator.narration.mode = mode
            case .verbosity(let verbosity):
                narrator.narration.verbosity = verbosity
            case .language(let language):
                narrator.narration.language = language
            case .reload(let before, let after):
                if after.language != before.language { narrator.narration.language = after.language }
                if after.mode != before.mode { narrator.narration.mode = after.mode }
                if after.verbosity != before.verbosity { narrator.narration.verbosity = after.verbosity }
                if after.directions != before.directions { narrator.narration.directions = after.directions }
            case .describeNow, .repeatLast:
                // Paused, no frame is analysed, so the scene is stale and the policy would
                // answer "camera blocked" about a camera that works: say nothing instead.
                guard state.read().activity != .paused else {
                    item.reply.resume(returning: .paused)
                    continue
                }
                if case .describeNow = item.command {
                    said = narrator.describe(at: state.now).utterances
                } else {
                    said = repeatLast(narrator)
                }
            }
            let narration = narrator.narration
            state.update { $0.narration = narration }
            logger.info("command", metadata: ["command": "\(item.command)"])
            item.reply.resume(returning: .said(say(said)))
        }
    }

    /// The last utterance the wearer heard again, as it holds now (a light state is never
    /// repeated from an old scene, a countdown with its old seconds, an obstacle that has gone);
    /// otherwise what holds now. Never interrupting: asking again must not drop a queued "Wait.".
    private func repeatLast(_ narrator: StreetNarrator) -> [Utterance] {
        guard let last = state.read().lastSaid else { return [] }
        if var again = truth.revised(last) {
            again.interrupts = false
            return [again]
        }
        let now = narrator.describe(at: state.now).utterances
        // A description too old to repeat is answered with a fresh one (the light, then what is
        // in view), anything else with what holds now about the street, first of all the light.
        if case .description = last.message { return now }
        return Array(now.prefix(1))
    }

    private func wait(until end: Double) {
        while !stopped, state.now < end {
            Thread.sleep(forTimeInterval: min(0.02, max(0, end - state.now)))
        }
    }
}

/// Decides whether something queued for speech still holds when its turn comes, and how it
/// is worded then.
struct SpokenTruth: Sendable {
    let state: DaemonState
    /// How old a frame may be when it is analysed or its facts spoken (the tracker's limit).
    let maxFrameAge: Double
    /// How long after its scene a description may still be spoken: it describes one moment, and
    /// a wearer pressing "describe" again and again must not hear the first answers a minute
    /// later.
    static let maxDescriptionDelay = 3.0

    /// Whether `utterance` may still be said now.
    func isStillTrue(_ utterance: Utterance) -> Bool {
        revised(utterance) != nil
    }

    /// `utterance` as it holds now, or `nil` when it no longer does. Everything about the street
    /// holds only while the scene is fresh (judged by when its newest frame was captured, not
    /// when its analysis ended: a pipeline that falls behind must not speak from an old frame,
    /// rule 2) and while the tracked scene still says it:
    /// - a light state while the tracker holds that state of that kind; a countdown is reworded
    ///   with the seconds of the newest frame (rule 5: never "12 seconds" with 4 left);
    /// - an obstacle while one of that kind is at that place and distance (a change of distance
    ///   is new news, which the policy says itself);
    /// - a crosswalk while it is at that side, a turn while the heading still asks for it;
    /// - a description for `maxDescriptionDelay` after its scene.
    /// "Camera blocked" holds only while no fresh frame exists, "camera back" only while one does;
    /// "ready" always.
    func revised(_ utterance: Utterance) -> Utterance? {
        let snapshot = state.read()
        let now = state.now
        let fresh = snapshot.scene?.frameTime.map { now - $0 <= maxFrameAge } ?? false
        let scene = fresh ? snapshot.scene.flatMap { $0.isStale ? nil : $0 } : nil
        switch utterance.message {
        case .ready:
            return utterance
        case .cameraBlocked, .cameraLost:
            return fresh ? nil : utterance
        case .cameraBack:
            return fresh ? utterance : nil
        case .light(let status, let kind):
            guard let light = scene?.light, light.status == status, light.spokenKind == kind else { return nil }
            guard light.secondsLeft != utterance.secondsLeft else { return utterance }
            var reworded = utterance
            reworded.secondsLeft = light.secondsLeft
            reworded.text = Phrasebook(language: utterance.language, directions: snapshot.narration.directions)
                .text(for: utterance.message, secondsLeft: light.secondsLeft)
            return reworded
        case .obstacle(let kind, let position, let distance):
            let holds = scene?.obstacles.contains { $0.kind == kind && $0.position == position && $0.distance == distance } ?? false
            return holds ? utterance : nil
        case .crosswalk(let position):
            guard let crosswalk = scene?.crosswalk, crosswalk.present, crosswalk.offset == position else { return nil }
            return utterance
        case .turn(let turn):
            guard let crosswalk = scene?.crosswalk, crosswalk.present,
                  snapshot.narration.turn(forHeading: crosswalk.headingDegrees) == turn else { return nil }
            return utterance
        case .description:
            guard scene != nil, now - (utterance.sceneTime ?? now) <= Self.maxDescriptionDelay else { return nil }
            return utterance
        }
    }
}

/// The tracked scene as the event stream and `/facts` carry it.
struct FactsEvent: Encodable {
    var facts: SceneFacts
    var stale: Bool
    var lightStatus: String?
    var frameAge: Double?

    /// `maxAge`: a scene whose newest frame is older than this at `now` is reported stale, with
    /// no light, crosswalk or obstacles (a paused or stalled pipeline's last scene is not news).
    init(_ moment: StreetNarrator.Moment, language: Language, now: Double, maxAge: Double) {
        var scene = moment.scene
        if let frameTime = scene.frameTime, now - frameTime > maxAge {
            scene = TrackedScene(time: now, frameTime: frameTime, isStale: true, light: nil, crosswalk: nil,
                                 obstacles: [], description: nil, lightChanged: false)
        }
        facts = StreetNarrator.Moment(scene: scene, utterances: []).facts(language: language).rounded()
        stale = scene.isStale
        lightStatus = scene.light?.status.rawValue
        frameAge = scene.frameTime.map { ((now - $0) * 1000).rounded() / 1000 }
    }

    enum CodingKeys: String, CodingKey {
        case facts, stale
        case lightStatus = "light_status"
        case frameAge = "frame_age_s"
    }
}

struct UtteranceEvent: Encodable {
    var text: String
    var language: String
    var priority: String
    var interrupts: Bool
    var time: Double

    init(_ utterance: Utterance, time: Double) {
        text = utterance.text
        language = utterance.language.rawValue
        priority = "\(utterance.priority)"
        interrupts = utterance.interrupts
        self.time = (time * 1000).rounded() / 1000
    }
}
