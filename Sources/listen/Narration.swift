import Foundation
import Narrator

/// Where `describe` speaks: a WAV file holding every description in turn, the sound device, or
/// both. One eSpeak-ng engine per process.
final class Narration {
    private let engine: ESpeakEngine
    private let language: Language
    private let file: WAVFileSink?
    private let device: ALSASink?
    /// Where in the WAV file the current video began, so its narration lines up with it.
    private var videoStart = 0.0

    init?(wav: String?, speak: Bool, language: Language) throws {
        guard wav != nil || speak else { return nil }
        engine = try ESpeakEngine()
        self.language = language
        file = try wav.map { try WAVFileSink(path: $0) }
        device = speak ? try ALSASink() : nil
    }

    /// Speaks `text`; `videoTime` places it in the WAV file at that moment of the current video
    /// (after silence), or as soon as the speech before it ends when that runs past it.
    func say(_ text: String, videoTime: Double? = nil) throws {
        if let file {
            if let videoTime {
                try file.begin(format: PCMFormat(sampleRate: engine.sampleRate))
                try file.extendWithSilence(to: videoStart + videoTime)
            }
            try engine.speak(text, language: language, to: file)
        }
        if let device { try engine.speak(text, language: language, to: device) }
    }

    /// Marks the start of a video in the WAV file: its narration is timed from here.
    func startVideo() {
        videoStart = file?.duration ?? 0
    }

    /// Pads the WAV file to the end of the current video, so the next input starts after it.
    func endVideo(duration: Double) throws {
        guard let file, duration > 0 else { return }
        try file.begin(format: PCMFormat(sampleRate: engine.sampleRate))
        try file.extendWithSilence(to: videoStart + duration)
    }

    func finish() throws {
        try file?.close()
    }
}
