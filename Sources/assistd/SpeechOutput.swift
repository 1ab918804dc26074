import Logging
import Narrator

/// Where the daemon's speech goes.
enum SpeechOutputKind: Equatable, Sendable {
    /// The sound device (ALSA).
    case alsa
    /// Synthesised and discarded: the API still reports every utterance.
    case none
    /// Appended to a WAV file.
    case wav(String)

    init?(parsing text: String) {
        switch text {
        case "alsa": self = .alsa
        case "none": self = .none
        default:
            guard text.hasPrefix("wav:"), text.count > 4 else { return nil }
            self = .wav(String(text.dropFirst(4)))
        }
    }
}

/// Takes samples and keeps none.
final class DiscardingSink: AudioSink {
    func begin(format: PCMFormat) throws(AudioSinkError) {}
    func write(_ samples: UnsafeBufferPointer<Int16>) throws(AudioSinkError) {}
    func end() throws(AudioSinkError) {}
    func discard() {}
}

enum SpeechOutput {
    /// The sink for `kind`. A sound device that cannot be opened is not fatal: the daemon keeps
    /// tracking and serving the API (a haptic belt may be all the wearer uses), logs the reason
    /// and reports it in the status.
    static func sink(_ kind: SpeechOutputKind, device: String, logger: Logger) -> (sink: any AudioSink, status: String) {
        switch kind {
        case .none:
            return (DiscardingSink(), "none")
        case .wav(let path):
            do {
                return (try WAVFileSink(path: path), "wav:\(path)")
            } catch {
                logger.error("cannot write speech to the WAV file; speech is off", metadata: ["error": "\(error)"])
                return (DiscardingSink(), "unavailable: \(error)")
            }
        case .alsa:
            do {
                return (try ALSASink(device: device), "alsa:\(device)")
            } catch {
                logger.error("no sound device; speech is off, the API still reports everything", metadata: ["error": "\(error)"])
                return (DiscardingSink(), "unavailable: \(error)")
            }
        }
    }
}
