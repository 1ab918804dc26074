/// Why speech could not be produced. Each message names the condition and what to do about it.
public enum SpeechError: Error, Sendable, Hashable, CustomStringConvertible {
    /// `ESpeakEngine` was created while another one is alive. libespeak-ng keeps its state in
    /// process-wide variables, so a second engine would corrupt the first.
    case engineAlreadyExists
    /// No eSpeak-ng data (`phontab`, voices, dictionaries) at the path; `espeak_Initialize`
    /// would otherwise carry on with broken data.
    case dataNotFound(path: String)
    /// `espeak_Initialize` returned an error instead of a sample rate.
    case initializationFailed(code: Int32)
    /// `espeak_SetVoiceByName` did not find the voice.
    case voiceNotFound(String)
    /// A rate, pitch or volume outside what eSpeak-ng accepts.
    case parameterOutOfRange(name: String, value: Int, range: ClosedRange<Int>)
    /// eSpeak-ng's data for the voice (its dictionary) cannot be read: it would speak garbled
    /// words or none and report success.
    case dataUnreadable(path: String, reason: String)
    /// `espeak_Synth` returned an error code.
    case synthesisFailed(code: Int32)
    /// The sink refused the audio; synthesis was stopped.
    case sink(AudioSinkError)

    public var description: String {
        switch self {
        case .engineAlreadyExists:
            "An eSpeak-ng engine already exists in this process; create one ESpeakEngine and share it."
        case let .dataNotFound(path):
            "No eSpeak-ng data at '\(path)' (no phontab there or in its espeak-ng-data folder); install espeak-ng-data or pass the folder that holds it."
        case let .initializationFailed(code):
            "eSpeak-ng failed to initialise (code \(code)); check that espeak-ng-data is installed and readable."
        case let .voiceNotFound(name):
            "eSpeak-ng has no voice named '\(name)'; `espeak-ng --voices` lists the installed ones (Mandarin needs 'cmn-latn-pinyin')."
        case let .parameterOutOfRange(name, value, range):
            "Speech \(name) \(value) is outside \(range.lowerBound)…\(range.upperBound)."
        case let .dataUnreadable(path, reason):
            "eSpeak-ng cannot read '\(path)' (\(reason)), so nothing intelligible can be spoken; check that espeak-ng-data is installed and readable and that the process has file descriptors left."
        case let .synthesisFailed(code):
            "eSpeak-ng could not synthesise the text (code \(code))."
        case let .sink(error):
            error.description
        }
    }
}

/// Why audio could not be delivered.
public enum AudioSinkError: Error, Sendable, Hashable, CustomStringConvertible {
    /// ALSA could not open the playback device: no sound card, no permission, or a wrong name.
    case noSoundDevice(device: String, reason: String)
    /// The device was open but failed while playing.
    case deviceFailed(device: String, reason: String)
    case fileOpenFailed(path: String, reason: String)
    case writeFailed(path: String, reason: String)
    /// A WAV file holds one format; an utterance came in another.
    case formatChanged(from: PCMFormat, to: PCMFormat)
    /// A WAV file's sizes are 32-bit: it cannot hold more than about 4 GiB of samples.
    case fileTooLarge(path: String)
    /// The sink was closed before this write.
    case closed

    public var description: String {
        switch self {
        case let .noSoundDevice(device, reason):
            "No sound device: ALSA could not open '\(device)' (\(reason)). Check that `aplay -l` lists a card and that this user may use it (group 'audio'), or write speech to a WAV file or to stdout instead."
        case let .deviceFailed(device, reason):
            "The sound device '\(device)' failed while playing (\(reason))."
        case let .fileOpenFailed(path, reason):
            "Could not open '\(path)' for writing audio (\(reason))."
        case let .writeFailed(path, reason):
            "Could not write audio to '\(path)' (\(reason))."
        case let .formatChanged(from, to):
            "A WAV file holds one format: it was opened at \(from.sampleRate) Hz and an utterance came at \(to.sampleRate) Hz."
        case let .fileTooLarge(path):
            "'\(path)' would exceed the 4 GiB a WAV file can describe."
        case .closed:
            "The audio sink was already closed."
        }
    }
}
