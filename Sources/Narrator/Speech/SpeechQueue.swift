import Dispatch
import Synchronization

/// What happened to a queued utterance.
public enum SpeechEvent: Sendable, Hashable {
    case started(Utterance)
    case finished(Utterance, SynthesisReport)
    /// Cut off by an interrupting utterance (or `interrupt()`) while being spoken.
    case interrupted(Utterance)
    /// Removed from the queue by an interrupting utterance before it was spoken, or no longer
    /// true when its turn came (see `SpeechQueue.init`'s `revise`).
    case dropped(Utterance)
    /// Removed unspoken to keep the backlog within `SpeechQueue.capacity`, the oldest of the
    /// least urgent: speech is not keeping up (a stalled sound device).
    case overflowed(Utterance)
    case failed(Utterance, SpeechError)
    /// Mandarin characters without a pinyin reading (spoken through the voice's dictionary);
    /// add them to `MandarinPinyin`.
    case missingPinyin(Utterance, [Character])
}

/// Speaks utterances one after another on its own thread, so that the vision loop only ever
/// waits for a short lock when it hands one over.
///
/// Higher priorities go first; an utterance marked `interrupts` stops the one being spoken (the
/// engine aborts synthesis at its next block of samples and the sink drops what it buffered)
/// and drops queued ones, which it makes out of date — those of lower priority, and those of its
/// own priority on its own topic. One of its priority on another topic is as urgent as it is
/// and says something it does not (a walk withdrawn as an obstacle comes close): that one is
/// neither cut off nor dropped, and the interrupting utterance follows it. What happens is
/// reported on `events`.
public final class SpeechQueue: Sendable {
    public let events: AsyncStream<SpeechEvent>

    /// The engine, or why it could not start (every utterance then fails with that reason).
    private let engine: Result<ESpeakEngine, SpeechError>
    private let sink: any AudioSink
    private let voices: VoiceSet
    private let revise: @Sendable (Utterance) -> Utterance?
    private let continuation: AsyncStream<SpeechEvent>.Continuation
    /// A serial queue of its own: synthesis blocks it (a sound device plays in real time), and
    /// it must not block Swift concurrency's few cooperative threads.
    private let worker = DispatchQueue(label: "ListenToTheWorld.speech", qos: .userInitiated)
    private let state = Mutex(State())
    private let stopCurrent = Atomic<Bool>(false)

    private struct State {
        var pending: [Utterance] = []
        var speaking: Utterance?
        var draining = false
        var closed = false
    }

    /// At most this many utterances wait; past it the oldest of the least urgent is dropped. A
    /// sound device that stalls, or a wearer pressing "describe" again and again, must not build
    /// a backlog that is heard long after the street it describes.
    public static let capacity = 16

    /// `revise` is asked just before each utterance is spoken, with the utterance as queued; it
    /// returns it as it holds now (the same, or reworded: a countdown that ticked down) or `nil`
    /// when it no longer holds. An utterance that waited while the world changed (a light state,
    /// once the scene went stale or the light changed; an obstacle gone) is then dropped instead
    /// of spoken (safety rule 2).
    public convenience init(
        engine: ESpeakEngine, sink: any AudioSink, voices: VoiceSet = VoiceSet(),
        revise: @escaping @Sendable (Utterance) -> Utterance? = { $0 }
    ) {
        self.init(engine: .success(engine), sink: sink, voices: voices, revise: revise)
    }

    /// With an engine that may have failed to start (its data missing): the queue still takes
    /// utterances, checks and orders them, and reports each as failed with the engine's reason,
    /// so that a daemon without speech still serves its facts and says why nothing is heard.
    public init(
        engine: Result<ESpeakEngine, SpeechError>, sink: any AudioSink, voices: VoiceSet = VoiceSet(),
        revise: @escaping @Sendable (Utterance) -> Utterance? = { $0 }
    ) {
        self.engine = engine
        self.sink = sink
        self.voices = voices
        self.revise = revise
        (events, continuation) = AsyncStream.makeStream(bufferingPolicy: .unbounded)
    }

    /// Queues `utterance`; returns at once.
    public func enqueue(_ utterance: Utterance) {
        enqueue([utterance])
    }

    /// Queues several utterances at once (as `NarrationPolicy.narrate` returns them), so that
    /// the speech thread sees them all before it picks the most urgent.
    /// An utterance the same as one still waiting (same words, same urgency) is not queued twice.
    public func enqueue(_ utterances: [Utterance]) {
        var dropped: [Utterance] = []
        var overflowed: [Utterance] = []
        let startWorker = state.withLock { state -> Bool in
            guard !state.closed else { return false }
            for utterance in utterances {
                let waiting = state.pending.contains {
                    $0.text == utterance.text && $0.priority == utterance.priority && $0.topic == utterance.topic
                }
                guard !waiting else { continue }
                if utterance.interrupts {
                    dropped += state.pending.filter { utterance.supersedes($0) }
                    state.pending.removeAll { utterance.supersedes($0) }
                    if let speaking = state.speaking, utterance.supersedes(speaking) {
                        stopCurrent.store(true, ordering: .releasing)
                    }
                }
                let index = state.pending.firstIndex { $0.priority < utterance.priority } ?? state.pending.endIndex
                state.pending.insert(utterance, at: index)
                if state.pending.count > Self.capacity, let least = state.pending.last?.priority,
                   let oldest = state.pending.firstIndex(where: { $0.priority == least }) {
                    overflowed.append(state.pending.remove(at: oldest))
                }
            }
            guard !state.draining, !state.pending.isEmpty else { return false }
            state.draining = true
            return true
        }
        for utterance in dropped {
            continuation.yield(.dropped(utterance))
        }
        for utterance in overflowed {
            continuation.yield(.overflowed(utterance))
        }
        if startWorker {
            worker.async { self.drain() }
        }
    }

    /// Stops what is being spoken and empties the queue (the wearer pressed "quiet").
    public func interrupt() {
        let dropped = state.withLock { state -> [Utterance] in
            if state.speaking != nil {
                stopCurrent.store(true, ordering: .releasing)
            }
            defer { state.pending.removeAll() }
            return state.pending
        }
        for utterance in dropped {
            continuation.yield(.dropped(utterance))
        }
    }

    /// Accepts nothing more; `events` ends once what is queued has been spoken.
    public func close() {
        let finishNow = state.withLock { state -> Bool in
            state.closed = true
            return !state.draining
        }
        if finishNow {
            continuation.finish()
        }
    }

    private func drain() {
        while true {
            let next = state.withLock { state -> Utterance? in
                guard !state.pending.isEmpty else {
                    state.speaking = nil
                    state.draining = false
                    return nil
                }
                let utterance = state.pending.removeFirst()
                state.speaking = utterance
                stopCurrent.store(false, ordering: .releasing)
                return utterance
            }
            guard let next else {
                if state.withLock({ $0.closed }) {
                    continuation.finish()
                }
                return
            }
            guard let current = revise(next) else {
                continuation.yield(.dropped(next))
                continue
            }
            speak(current)
        }
    }

    private func speak(_ utterance: Utterance) {
        let prepared = SpeechText(utterance.text, language: utterance.language)
        if !prepared.missing.isEmpty {
            continuation.yield(.missingPinyin(utterance, prepared.missing))
        }
        continuation.yield(.started(utterance))
        do {
            let report = try engine.get().speak(
                utterance.text, language: utterance.language, voice: voices.voice(for: utterance.language), to: sink,
                shouldStop: { stopCurrent.load(ordering: .acquiring) }
            )
            continuation.yield(report.completed ? .finished(utterance, report) : .interrupted(utterance))
        } catch {
            continuation.yield(.failed(utterance, error))
        }
    }
}
