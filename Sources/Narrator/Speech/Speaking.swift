/// The voice used for each narration language.
public struct VoiceSet: Sendable, Hashable {
    public var english: Voice
    public var mandarin: Voice

    public init(english: Voice = .standard(for: .english), mandarin: Voice = .standard(for: .mandarin)) {
        self.english = english
        self.mandarin = mandarin
    }

    public func voice(for language: Language) -> Voice {
        switch language {
        case .english: english
        case .mandarin: mandarin
        }
    }
}

/// What the engine is given for a piece of narration text: Mandarin characters become
/// tone-numbered pinyin for the pinyin voice; English goes as it is.
public struct SpeechText: Sendable, Hashable {
    public var text: String
    /// Mandarin characters the pinyin table lacks (passed through for the voice to try).
    public var missing: [Character]

    public init(_ text: String, language: Language) {
        switch language {
        case .english:
            self.text = text
            missing = []
        case .mandarin:
            let conversion = MandarinPinyin.convert(text)
            self.text = conversion.pinyin
            missing = conversion.missing
        }
    }
}

extension ESpeakEngine {
    /// Speaks `text` in `language` into `sink`, synchronously: one utterance, from `begin` to
    /// `end`. `shouldStop` is asked before each block of samples; when it says stop, synthesis is
    /// aborted, the sink discards what it holds and the report says `completed == false`.
    @discardableResult
    public func speak(
        _ text: String,
        language: Language,
        voice: Voice? = nil,
        to sink: any AudioSink,
        shouldStop: () -> Bool = { false }
    ) throws(SpeechError) -> SynthesisReport {
        let prepared = SpeechText(text, language: language)
        do {
            try sink.begin(format: PCMFormat(sampleRate: sampleRate))
        } catch {
            throw .sink(error)
        }
        var sinkFailure: AudioSinkError?
        let report = try synthesize(prepared.text, voice: voice ?? .standard(for: language)) { samples in
            guard !shouldStop() else { return false }
            do throws(AudioSinkError) {
                try sink.write(samples)
                return true
            } catch {
                sinkFailure = error
                return false
            }
        }
        if let sinkFailure {
            sink.discard()
            throw .sink(sinkFailure)
        }
        guard report.completed else {
            sink.discard()
            return report
        }
        do {
            try sink.end()
        } catch {
            throw .sink(error)
        }
        return report
    }
}
