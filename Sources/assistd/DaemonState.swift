import Foundation
import Fusion
import Narrator
import Pipeline
import Synchronization
import Vision

/// Where the camera stands, as the API and the journal report it.
enum CameraState: String, Sendable, Codable {
    /// Opening the source for the first time.
    case starting
    /// Frames are arriving.
    case running
    /// A live camera delivers the same picture over and over (a stuck driver or capture
    /// device): frames arrive but none is a fresh view, so they are treated as missing.
    case frozen
    /// The source failed or vanished; reconnecting with backoff.
    case lost
    /// A video file or folder ended (without --loop).
    case ended
}

/// What the daemon is doing.
enum DaemonActivity: String, Sendable, Codable {
    case starting, running, paused, stopping
}

/// The latest of everything the API reports, written by the worker threads and read by request
/// handlers; every access takes a short lock.
final class DaemonState: Sendable {
    struct Snapshot: Sendable {
        var activity = DaemonActivity.starting
        var camera = CameraState.starting
        var cameraDetail: String?
        var cameraLostAt: Double?
        var cameraLosses = 0
        /// How often a frozen camera was closed and opened again.
        var cameraReopens = 0
        var scene: TrackedScene?
        var lastFrameAt: Double?
        var framesAnalysed = 0
        var framesCaptured = 0
        var framesDropped = 0
        var narration: NarrationConfig
        /// The last utterance the wearer heard in full, and when (what `/repeat` says again).
        var lastSaid: Utterance?
        var lastSaidAt: Double?
        var speaking: Utterance?
        /// Speech can never be heard in this run (its WAV file could not be written).
        var speechUnavailable = false
        /// True from a speech failure until an utterance is spoken in full again.
        var speechFailing = false
        var speechFailures = 0
        var lastSpeechError: String?
        var lastSpeechFailedText: String?
        var lastSpeechFailureAt: Double?
        var stages = StageWindow()
        var analysedTimes: [Double] = []
    }

    let started = ContinuousClock.now
    private let snapshot: Mutex<Snapshot>

    init(narration: NarrationConfig) {
        snapshot = Mutex(Snapshot(narration: narration))
    }

    /// Seconds since the daemon started: the one clock frames, scenes and speech are timed on.
    var now: Double { (ContinuousClock.now - started).inSeconds }

    func read() -> Snapshot { snapshot.withLock { $0 } }

    func update<T>(_ body: (inout Snapshot) -> T) -> T { snapshot.withLock { body(&$0) } }

    /// Frames analysed per second over the last five seconds.
    func frameRate(now: Double) -> Double {
        snapshot.withLock { state in
            let recent = state.analysedTimes.filter { now - $0 <= 5 }
            guard let first = recent.first, recent.count > 1, now > first else { return 0 }
            return Double(recent.count - 1) / (recent.last! - first)
        }
    }
}

/// The last few hundred durations of each pipeline stage, for percentiles in the status.
struct StageWindow: Sendable {
    static let capacity = 512
    static let stages = ["read", "caption", "narrate", "total"]
    private(set) var samples: [String: [Double]] = [:]
    private var next = 0

    /// One frame's durations in the order of `stages`.
    static func values(_ times: StreetNarrator.StageTimes) -> [Double] {
        [times.read, times.caption, times.narrate, times.total]
    }

    mutating func record(_ times: StreetNarrator.StageTimes) {
        for (stage, value) in zip(Self.stages, Self.values(times)) {
            var list = samples[stage, default: []]
            if list.count < Self.capacity { list.append(value) } else { list[next] = value }
            samples[stage] = list
        }
        next = (next + 1) % Self.capacity
    }

    /// p50, p95 and p99 in milliseconds per stage.
    func percentiles() -> [String: [String: Double]] {
        var out: [String: [String: Double]] = [:]
        for (stage, values) in samples where !values.isEmpty {
            let sorted = values.sorted()
            func at(_ q: Double) -> Double {
                (sorted[min(sorted.count - 1, Int((q * Double(sorted.count - 1)).rounded()))] * 1e6).rounded() / 1e3
            }
            out[stage] = ["p50": at(0.5), "p95": at(0.95), "p99": at(0.99)]
        }
        return out
    }
}

/// Hands every event to every live subscriber of the event stream (the SSE endpoint). A slow
/// subscriber loses its oldest events rather than holding up the pipeline.
final class EventHub: Sendable {
    struct Event: Sendable {
        var name: String
        var json: String
    }

    private struct Subscribers {
        var next = 0
        var continuations: [Int: AsyncStream<Event>.Continuation] = [:]
        var finished = false
    }

    private let subscribers = Mutex(Subscribers())

    func subscribe() -> AsyncStream<Event> {
        let (stream, continuation) = AsyncStream.makeStream(of: Event.self, bufferingPolicy: .bufferingNewest(256))
        let id = subscribers.withLock { state -> Int? in
            guard !state.finished else { return nil }
            defer { state.next += 1 }
            state.continuations[state.next] = continuation
            return state.next
        }
        guard let id else {
            continuation.finish()
            return stream
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.subscribers.withLock { $0.continuations.removeValue(forKey: id) }
        }
        return stream
    }

    /// Encodes `value` once for all subscribers, and not at all when there are none (the
    /// narration worker publishes every tick).
    func publish(_ name: String, _ value: some Encodable) {
        let targets = subscribers.withLock { Array($0.continuations.values) }
        guard !targets.isEmpty else { return }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(value) else { return }
        let event = Event(name: name, json: String(decoding: data, as: UTF8.self))
        for continuation in targets { continuation.yield(event) }
    }

    /// Ends every stream (at shutdown, so open connections close and the server can stop).
    func finish() {
        let targets = subscribers.withLock { state -> [AsyncStream<Event>.Continuation] in
            state.finished = true
            defer { state.continuations.removeAll() }
            return Array(state.continuations.values)
        }
        for continuation in targets { continuation.finish() }
    }
}
