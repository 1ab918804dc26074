import Foundation
import Logging
import Narrator

/// Where the daemon's speech goes.
enum SpeechOutputKind: Equatable, Sendable {
    /// The sound device (ALSA).
    case alsa
    /// Synthesised and discarded: the API still reports every utterance.
    case none
    /// Raw samples on standard output, for another program to play or carry (the log is on
    /// standard error).
    case pcm
    /// Appended to a WAV file.
    case wav(String)

    init?(parsing text: String) {
        switch text {
        case "alsa": self = .alsa
        case "none": self = .none
        case "pcm": self = .pcm
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

/// Why raw audio must not go to standard output, or `nil`: a terminal would show it as garbage,
/// and under systemd standard output is the journal (44 kB of binary a second in the log).
private func standardOutputRefusesAudio() -> String? {
    let advice = "pipe assistd into a player instead (assistd … | aplay -f S16_LE -r 22050 -c 1)"
    if isatty(STDOUT_FILENO) == 1 { return "standard output is a terminal; \(advice)" }
    var output = stat()
    if let stream = ProcessInfo.processInfo.environment["JOURNAL_STREAM"], fstat(STDOUT_FILENO, &output) == 0,
       stream == "\(output.st_dev):\(output.st_ino)" {
        return "standard output is the journal; \(advice)"
    }
    return nil
}

/// Where the daemon's speech goes, as opened at start.
struct SpeechOutput {
    var sink: any AudioSink
    /// What `/status` says of the output ("alsa:default", "wav:PATH", "pcm:stdout", "none",
    /// "unavailable: …").
    var status: String
    /// Why speech can never be heard in this run (a WAV file that cannot be written), or `nil`.
    var unavailable: String?
    /// Why the sound device could not be opened at start, or `nil`: it is tried again at each
    /// utterance.
    var notOpen: String?

    /// The sink for `kind`. A sound device that cannot be opened is not fatal: the daemon keeps
    /// tracking and serving the API (a haptic belt may be all the wearer uses), logs the reason,
    /// reports every utterance that is not heard as failed, and opens the device again at each
    /// utterance, so that speech comes back when the device does (`ReopeningSink`).
    static func open(_ kind: SpeechOutputKind, device: String, logger: Logger) -> SpeechOutput {
        switch kind {
        case .none:
            return SpeechOutput(sink: DiscardingSink(), status: "none")
        case .pcm:
            if let reason = standardOutputRefusesAudio() {
                logger.error("speech is off: \(reason)")
                return SpeechOutput(sink: DiscardingSink(), status: "unavailable: \(reason)", unavailable: reason)
            }
            // A reader that goes away must end in a failed write (reported), not in SIGPIPE.
            signal(SIGPIPE, SIG_IGN)
            return SpeechOutput(sink: RawPCMSink(), status: "pcm:stdout")
        case .wav(let path):
            do {
                return SpeechOutput(sink: try WAVFileSink(path: path), status: "wav:\(path)")
            } catch {
                logger.error("cannot write speech to the WAV file; speech is off", metadata: ["error": "\(error)"])
                return SpeechOutput(sink: DiscardingSink(), status: "unavailable: \(error)", unavailable: "\(error)")
            }
        case .alsa:
            let sink = ReopeningSink { () throws(AudioSinkError) -> any AudioSink in try ALSASink(device: device) }
            let error = sink.openNow()
            if let error {
                logger.error("no sound device yet; the wearer hears nothing until it appears (tried again at each utterance)",
                             metadata: ["error": "\(error)"])
            }
            return SpeechOutput(sink: sink, status: "alsa:\(device)", notOpen: error.map { "\($0)" })
        }
    }
}
