#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CESpeakNG
import Synchronization

/// An eSpeak-ng voice and its settings.
public struct Voice: Sendable, Hashable {
    /// The eSpeak-ng voice name, as `espeak-ng --voices` lists it ("en-us", "cmn-latn-pinyin").
    public var name: String
    /// Words per minute, 80…450 (eSpeak-ng's limits; 175 is its normal).
    public var rate: Int
    /// Base pitch, 0…100 (50 normal).
    public var pitch: Int
    /// Volume, 0…200 (100 normal; above it the audio may clip).
    public var volume: Int

    public init(name: String, rate: Int = 175, pitch: Int = 50, volume: Int = 100) {
        self.name = name
        self.rate = rate
        self.pitch = pitch
        self.volume = volume
    }

    /// The voice for a narration language. Mandarin uses the pinyin voice, fed tone-numbered
    /// pinyin (`MandarinPinyin`): the plain `cmn` voice in espeak-ng 1.51 reads Chinese
    /// characters as English letter names.
    public static func standard(for language: Language) -> Voice {
        switch language {
        case .english: Voice(name: "en-us")
        case .mandarin: Voice(name: "cmn-latn-pinyin", rate: 160)
        }
    }

    /// The name of the voice's dictionary in espeak-ng-data (`en` for "en-us", `cmn` for
    /// "cmn-latn-pinyin"): the language code before the first hyphen, as eSpeak-ng names them.
    var dictionary: String { String(name.prefix { $0 != "-" }) }

    static let rateRange = 80...450
    static let pitchRange = 0...100
    static let volumeRange = 0...200
}

/// How one synthesis went, for latency and speed figures.
public struct SynthesisReport: Sendable, Hashable {
    public var sampleRate: Int
    /// Samples the caller took (a block it refused by asking to stop is not counted).
    public var samples: Int
    /// From the call into eSpeak-ng to the first audio sample handed over.
    public var firstSampleLatency: Duration?
    /// From the call into eSpeak-ng to its return, including the time the caller spent taking
    /// the samples (a sound device that blocks makes this the playing time).
    public var elapsed: Duration
    /// False when the caller stopped synthesis early.
    public var completed: Bool

    /// Seconds of audio produced.
    public var audioSeconds: Double { Double(samples) / Double(sampleRate) }

    /// Synthesis time per second of audio (below 1: faster than real time).
    public var realTimeFactor: Double {
        audioSeconds > 0 ? elapsed.seconds / audioSeconds : .infinity
    }
}

extension Duration {
    var seconds: Double {
        let parts = components
        return Double(parts.seconds) + Double(parts.attoseconds) * 1e-18
    }
}

/// The one eSpeak-ng engine of the process, over the C API in synchronous mode: audio arrives
/// through the synthesis callback on the calling thread, so samples go straight to a sink
/// without eSpeak-ng's own audio output or threads.
///
/// libespeak-ng keeps all its state in process-wide variables, so every call is serialised by
/// one lock, and a second engine cannot be created while one is alive
/// (`SpeechError.engineAlreadyExists`). Create it explicitly at start-up and share it.
/// Synthesis blocks the calling thread and holds the engine for as long as the sink takes the
/// audio (a sound device: the playing time): call it from a speech thread (`SpeechQueue`), not
/// from the vision loop or a Swift concurrency task.
public final class ESpeakEngine: Sendable {
    /// The only process-wide state here: whether an engine is alive. It mirrors the C library's
    /// own globals, which cannot be instantiated twice.
    private static let alive = Atomic<Bool>(false)

    /// eSpeak-ng's output sample rate (22 050 Hz for its voices).
    public let sampleRate: Int
    /// The eSpeak-ng data folder in use.
    public let dataPath: String
    private let lock = Mutex<Void>(())

    /// Initialises eSpeak-ng.
    /// - Parameter dataPath: the `espeak-ng-data` folder, or a folder holding one; `nil` for the
    ///   library's default (Debian: /usr/lib/x86_64-linux-gnu/espeak-ng-data).
    public init(dataPath: String? = nil) throws(SpeechError) {
        if let dataPath, !Self.holdsData(dataPath) {
            throw .dataNotFound(path: dataPath)
        }
        guard Self.alive.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else {
            throw .engineAlreadyExists
        }
        // DONT_EXIT: without it espeak_Initialize ends the whole process when data is missing.
        let rate = espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, dataPath, Int32(espeakINITIALIZE_DONT_EXIT))
        var usedPath: UnsafePointer<CChar>?
        espeak_Info(&usedPath)
        let resolved = usedPath.map { String(cString: $0) } ?? (dataPath ?? "")
        guard rate > 0, Self.holdsData(resolved) else {
            espeak_Terminate()
            Self.alive.store(false, ordering: .releasing)
            if rate <= 0 { throw .initializationFailed(code: rate) }
            throw .dataNotFound(path: resolved)
        }
        espeak_SetSynthCallback(synthesisCallback)
        sampleRate = Int(rate)
        self.dataPath = resolved
    }

    deinit {
        lock.withLock { _ in
            _ = espeak_Terminate()
        }
        Self.alive.store(false, ordering: .releasing)
    }

    private static func holdsData(_ path: String) -> Bool {
        access(path + "/phontab", R_OK) == 0 || access(path + "/espeak-ng-data/phontab", R_OK) == 0
    }

    /// Synthesises `text` (UTF-8, plain text) with `voice`, handing each block of samples to
    /// `receive` as it is produced. `receive` returns false to stop synthesis (an interruption):
    /// eSpeak-ng is told to abort through the callback's return value.
    public func synthesize(
        _ text: String,
        voice: Voice,
        receive: (UnsafeBufferPointer<Int16>) -> Bool
    ) throws(SpeechError) -> SynthesisReport {
        try lock.withLock { (_) throws(SpeechError) -> SynthesisReport in
            try apply(voice)
            let report = withoutActuallyEscaping(receive) { receive in
                let context = SynthesisContext(receive: receive)
                let start = ContinuousClock.now
                context.start = start
                let status = withExtendedLifetime(context) {
                    let pointer = Unmanaged.passUnretained(context).toOpaque()
                    return text.withCString { cText in
                        espeak_Synth(cText, strlen(cText) + 1, 0, POS_CHARACTER, 0, UInt32(espeakCHARS_UTF8), nil, pointer)
                    }
                }
                let elapsed = ContinuousClock.now - start
                context.status = status
                let report = SynthesisReport(
                    sampleRate: sampleRate,
                    samples: context.samples,
                    firstSampleLatency: context.firstSample.map { $0 - start },
                    elapsed: elapsed,
                    completed: !context.stopped && status == EE_OK
                )
                return (report: report, failure: context.stopped || status == EE_OK ? nil : status)
            }
            // A stop asked for is an interruption; eSpeak-ng failing on its own is a failure,
            // reported as one (it was reported as an interruption, which is not logged as a
            // speech fault and does not mark speech as failing on /status).
            if let failure = report.failure { throw .synthesisFailed(code: Int32(failure.rawValue)) }
            return report.report
        }
    }

    /// eSpeak-ng's phoneme transcription of `text` with `voice`, clause by clause, joined by
    /// spaces (its ASCII phoneme names, as `espeak-ng -x` prints them). Used to check what a
    /// voice will say without listening.
    public func phonemes(_ text: String, voice: Voice) throws(SpeechError) -> String {
        try lock.withLock { (_) throws(SpeechError) -> String in
            try apply(voice)
            var clauses: [String] = []
            text.withCString { cText in
                var cursor: UnsafeRawPointer? = UnsafeRawPointer(cText)
                while cursor != nil {
                    guard let result = espeak_TextToPhonemes(&cursor, espeakCHARS_UTF8, 0) else { break }
                    let clause = String(cString: result).trimmingSpaces
                    if !clause.isEmpty { clauses.append(clause) }
                }
            }
            return clauses.joined(separator: " ")
        }
    }

    /// Sets the voice and its parameters; the caller holds the lock.
    private func apply(_ voice: Voice) throws(SpeechError) {
        for (name, value, range) in [
            ("rate", voice.rate, Voice.rateRange), ("pitch", voice.pitch, Voice.pitchRange),
            ("volume", voice.volume, Voice.volumeRange),
        ] where !range.contains(value) {
            throw .parameterOutOfRange(name: name, value: value, range: range)
        }
        guard espeak_SetVoiceByName(voice.name) == EE_OK else { throw .voiceNotFound(voice.name) }
        // eSpeak-ng re-reads the voice's dictionary here and, if it cannot (the file is gone, or
        // the process is out of file descriptors), only prints to stderr and goes on to speak
        // garbled or no words with EE_OK. The same read, done here, makes that a failure.
        let folder = access(dataPath + "/phontab", R_OK) == 0 ? dataPath : dataPath + "/espeak-ng-data"
        let dictionary = "\(folder)/\(voice.dictionary)_dict"
        let descriptor = open(dictionary, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .dataUnreadable(path: dictionary, reason: String(cString: strerror(errno))) }
        close(descriptor)
        espeak_SetParameter(espeakRATE, Int32(voice.rate), 0)
        espeak_SetParameter(espeakPITCH, Int32(voice.pitch), 0)
        espeak_SetParameter(espeakVOLUME, Int32(voice.volume), 0)
    }
}

extension String {
    fileprivate var trimmingSpaces: String {
        String(drop { $0 == " " || $0 == "\n" }.reversed().drop { $0 == " " || $0 == "\n" }.reversed())
    }
}

/// What the C callback needs for one `espeak_Synth` call, reached through the event's
/// `user_data`. Lives on the synthesising thread only, for the duration of the call.
private final class SynthesisContext {
    let receive: (UnsafeBufferPointer<Int16>) -> Bool
    var start = ContinuousClock.now
    var firstSample: ContinuousClock.Instant?
    var samples = 0
    var stopped = false
    var status = EE_OK

    init(receive: @escaping (UnsafeBufferPointer<Int16>) -> Bool) {
        self.receive = receive
    }

    /// Returns eSpeak-ng's callback verdict: 0 to continue, 1 to abort.
    func take(_ wav: UnsafeMutablePointer<Int16>?, count: Int) -> Int32 {
        guard !stopped else { return 1 }
        guard let wav, count > 0 else { return 0 }
        if firstSample == nil { firstSample = ContinuousClock.now }
        guard receive(UnsafeBufferPointer(start: wav, count: count)) else {
            stopped = true
            return 1
        }
        samples += count
        return 0
    }
}

/// The synthesis callback eSpeak-ng calls (synchronously, inside `espeak_Synth`). Every event
/// list, including the terminating entry, carries the `user_data` given to `espeak_Synth`.
private let synthesisCallback: @convention(c) (UnsafeMutablePointer<Int16>?, Int32, UnsafeMutablePointer<espeak_EVENT>?) -> Int32 = {
    wav, count, events in
    guard let context = events?.pointee.user_data else { return 0 }
    return Unmanaged<SynthesisContext>.fromOpaque(context).takeUnretainedValue().take(wav, count: Int(count))
}
