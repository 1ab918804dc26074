import Foundation
import Narrator

/// Where `describe` speaks: a WAV file holding every description in turn, the sound device, or
/// both. One eSpeak-ng engine per process.
final class Narration {
    private let engine: ESpeakEngine
    private let language: Language
    private let file: WAVFileSink?
    private let device: ALSASink?

    init?(wav: String?, speak: Bool, language: Language) throws {
        guard wav != nil || speak else { return nil }
        engine = try ESpeakEngine()
        self.language = language
        file = try wav.map { try WAVFileSink(path: $0) }
        device = speak ? try ALSASink() : nil
    }

    func say(_ text: String) throws {
        if let file { try engine.speak(text, language: language, to: file) }
        if let device { try engine.speak(text, language: language, to: device) }
    }

    func finish() throws {
        try file?.close()
    }
}
