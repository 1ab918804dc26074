import Foundation
import Narrator

/// Where `describe` speaks: a WAV file holding every description in turn, raw samples into a file
/// or named pipe, the sound device, or any of them together. One eSpeak-ng engine per process.
final class Narration {
    private let engine: ESpeakEngine
    private let language: Language
    private let file: WAVFileSink?
    /// Raw samples, one utterance after another (no silence: a pipe's reader plays them as they
    /// come).
    private let raw: RawPCMSink?
    private let device: ALSASink?
    /// The outputs that play speech as it comes, with no timeline: raw samples and the device.
    private let liveSinks: [any AudioSink]
    /// Where in the WAV file the current video began, so its narration lines up with it.
    private var videoStart = 0.0
    /// The current video's utterances in the WAV file.
    private var track = NarrationTrack()

    init?(wav: String?, pcm: String? = nil, speak: Bool, language: Language) throws {
        guard wav != nil || pcm != nil || speak else { return nil }
        engine = try ESpeakEngine()
        self.language = language
        file = try wav.map { try WAVFileSink(path: $0) }
        // A player that closes the pipe ends listen by SIGPIPE, as in any pipeline.
        raw = try pcm.map { path in
            try RawPCMSink(path: path) { printError("\(path): waiting for a player to open the named pipe…") }
        }
        device = speak ? try ALSASink() : nil
        liveSinks = [raw as (any AudioSink)?, device].compactMap { $0 }
    }

    /// Speaks `text` (a still image's description).
    func say(_ text: String) throws {
        if let file { try engine.speak(text, language: language, to: file) }
        for sink in liveSinks { try engine.speak(text, language: language, to: sink) }
    }

    /// Speaks a video moment's `utterances` (most urgent first, as the policy orders them). In the
    /// WAV file they start at `videoTime` of the current video (after silence), or as soon as the
    /// speech before them ends when that runs past it; an interrupting one ("Wait." after a walk,
    /// danger close ahead) cuts off at its moment what it makes out of date, as the daemon's
    /// speech queue does, so a withdrawal is heard when it happens and not sentences later.
    /// Returns the utterances cut off: the wearer did not hear them (the policy forgets them).
    func say(_ utterances: [Utterance], videoTime: Double) throws -> [Utterance] {
        var unheard: [Utterance] = []
        if let file, !utterances.isEmpty {
            try file.begin(format: PCMFormat(sampleRate: engine.sampleRate))
            let moment = videoStart + videoTime
            if let cut = track.cut(for: utterances, at: moment) {
                try file.truncate(to: cut.at)
                track.cutOff(at: cut.at)
                unheard = cut.unheard
            }
            try file.extendWithSilence(to: moment)
            for utterance in utterances {
                let start = file.duration
                try engine.speak(utterance.text, language: language, to: file)
                track.append(utterance, from: start, to: file.duration)
            }
        }
        for sink in liveSinks {
            for utterance in utterances { try engine.speak(utterance.text, language: language, to: sink) }
        }
        return unheard
    }

    /// Marks the start of a video in the WAV file: its narration is timed from here.
    func startVideo() {
        videoStart = file?.duration ?? 0
        track = NarrationTrack()
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

/// The utterances of a narration track and where each starts and ends in it, to decide what an
/// interrupting utterance cuts off at its moment, as the daemon's speech queue does: the one
/// playing at that moment is cut when an interrupting utterance supersedes it (less urgent, or
/// as urgent on its topic), otherwise it plays to its end; everything laid after it is not heard
/// (the daemon drops what is superseded, and what is not is said again by the policy from the
/// next frame, as here).
struct NarrationTrack {
    private(set) var spoken: [(utterance: Utterance, start: Double, end: Double)] = []

    /// Where to cut the track for the `utterances` of `moment`, and the utterances cut (wholly or
    /// in part); `nil` when none of them interrupts or nothing is playing or laid after it.
    func cut(for utterances: [Utterance], at moment: Double) -> (at: Double, unheard: [Utterance])? {
        let interrupting = utterances.filter(\.interrupts)
        guard !interrupting.isEmpty else { return nil }
        let after = spoken.filter { $0.end > moment }
        guard let first = after.first else { return nil }
        let playing = first.start <= moment ? first : nil
        let cutPlaying = playing.map { item in interrupting.contains { $0.supersedes(item.utterance) } } ?? false
        let at = playing.map { cutPlaying ? moment : $0.end } ?? first.start
        let unheard = after.filter { $0.end > at }.map(\.utterance)
        return unheard.isEmpty ? nil : (at, unheard)
    }

    /// Forgets what ends after `time` (it was cut off there).
    mutating func cutOff(at time: Double) {
        spoken.removeAll { $0.end > time }
    }

    mutating func append(_ utterance: Utterance, from start: Double, to end: Double) {
        spoken.append((utterance, start, end))
    }
}
