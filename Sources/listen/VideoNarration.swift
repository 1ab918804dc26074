import Foundation
import Fusion
import Imaging
import Narrator
import Pipeline
import Vision

/// `describe` on a video: the frames through `StreetNarrator` as a walk, a line each time
/// something is said, the speech placed at its moment in the WAV file, and an overlay video of
/// the tracked facts.
struct VideoNarration {
    /// Which frames are narrated.
    enum Sampling {
        /// About this many frames per second of video.
        case rate(Double)
        /// Every n-th frame.
        case everyNth(Int)
    }

    var path: String
    var model: StreetModel
    var sampling: Sampling
    var beams: Int
    var narration: NarrationConfig
    var json: Bool
    /// Where the overlay video goes (nil: none).
    var overlayPath: String?

    /// An overlay keeps showing what was said for this long.
    static let captionHold = 3.0

    /// Frame rates a container may declare and be believed; outside them (a damaged header's
    /// 1/4294967295 fps, say) the rate is taken as unknown, so the video's clock and the WAV's
    /// silences cannot run to hours between two frames.
    static let plausibleRates = 0.5...1000.0

    /// The most the clock moves between two narrated frames on the container's timestamps; a
    /// longer jump is taken as a damaged timestamp and replaced by one frame interval.
    static let longestGap = 60.0

    /// Narrates the video. Returns a warning when it ended well before the frame count its
    /// header declares (a truncated or damaged file, whose unreadable frames end the stream).
    /// `audioFailed` is told of the first speech failure (a full disk, a sound device or pipe
    /// reader gone); the narration then goes on without audio.
    func run(speech: Narration?, progress: Progress, audioFailed: (any Error) -> Void) throws -> String? {
        var speech = speech
        let source = try FrameSource(.videoFile(path))
        let fps = Self.plausibleRates.contains(source.fps) ? source.fps : 0
        let step = switch sampling {
        case .everyNth(let n): n
        case .rate(let rate): fps > 0 ? max(1, Int((fps / rate).rounded())) : 1
        }
        let frameRate = fps > 0 ? fps / Double(step) : nil
        let narrator = StreetNarrator(model: model, narration: narration, frameRate: frameRate, beamWidth: beams)
        let encoder = JSONEncoder.factsLines
        let separator = narration.language == .english ? " " : ""
        var overlay: VideoWriter?
        var lastSaid: (text: String, time: Double)?
        var previousTime: Double?
        /// The container's timestamp of the frame before, to tell a cut in its clock (see `isCut`).
        var previousTimestamp: Double?
        var narrated = 0
        var framesRead = 0
        speech?.startVideo()

        let expected = source.frameCount.map { ($0 + step - 1) / step }
        let name = URL(fileURLWithPath: path).lastPathComponent
        defer { progress.show("") }
        while let frame = try Self.nextFrame(source, narrated: narrated, step: step) {
            if narrated % 10 == 0 {
                progress.show("\(name) frame \(narrated)" + (expected.map { "/\($0)" } ?? ""))
            }
            if Self.isCut(frame, after: previousTimestamp) {
                narrator.restartTracking()
            }
            let time = Self.time(of: frame, after: previousTime, previousTimestamp: previousTimestamp, frameRate: frameRate)
            previousTime = time
            if frame.timestamp.isFinite { previousTimestamp = frame.timestamp }
            narrated += 1
            framesRead += 1

            let moment = try narrator.observe(frame.image, at: time)
            if !moment.utterances.isEmpty {
                let text = moment.utterances.map(\.text).joined(separator: separator)
                lastSaid = (text, time)
                if json {
                    var facts = moment.scene.facts.rounded()
                    facts.description = text
                    progress.print(try encoder.line(DescribedFrame(file: path, facts: facts, said: moment.utterances)))
                } else {
                    progress.print("\(path) \(Self.clock(time)): \(text)")
                }
                do {
                    for unheard in (try speech?.say(moment.utterances, videoTime: time) ?? []).reversed() {
                        narrator.forget(unheard)
                    }
                } catch {
                    speech = nil
                    audioFailed(error)
                }
            }
            if let overlayPath {
                var facts = moment.scene.facts
                facts.description = lastSaid.flatMap { time - $0.time <= Self.captionHold ? $0.text : nil }
                let picture = try Overlay.draw(facts, on: frame.image)
                if overlay == nil {
                    overlay = try VideoWriter(
                        path: overlayPath, fps: frameRate ?? 10, width: picture.width, height: picture.height)
                }
                try overlay?.write(picture)
            }
            let skipped = try Self.skip(step - 1, in: source)
            framesRead += skipped
            guard skipped == step - 1 else { break }
        }
        overlay?.close()
        guard narrated > 0 else { throw VideoNarrationError.noFrames(path) }
        try speech?.endVideo(duration: (previousTime ?? 0) + 1 / (frameRate ?? 10))
        return Self.endedEarly(read: framesRead, declared: source.frameCount).map {
            "\(path): the video ended after \($0.read) of the \($0.declared) frames its header declares "
                + "(truncated or damaged?); what was read is narrated"
        }
    }

    /// The frames read and declared when reading stopped short of the header's count by more
    /// than a frame interval's rounding or a fiftieth of the count (container counts are
    /// sometimes estimates from the duration).
    static func endedEarly(read: Int, declared: Int?) -> (read: Int, declared: Int)? {
        guard let declared, declared - read > max(2, declared / 50) else { return nil }
        return (read, declared)
    }

    /// The next frame, nil at the end of the video.
    static func nextFrame(_ source: FrameSource, narrated: Int, step: Int) throws(VideoNarrationError) -> Frame? {
        do {
            return try source.next()
        } catch {
            if case .endOfStream = error { return nil }
            throw .frameUnreadable(source.input.description, frame: narrated * step, narrated: narrated, detail: "\(error)")
        }
    }

    /// Drops up to `count` frames; returns how many were dropped before the video ended.
    static func skip(_ count: Int, in source: FrameSource) throws(ImagingError) -> Int {
        for dropped in 0..<count {
            do {
                try source.skip()
            } catch {
                if case .endOfStream = error { return dropped }
                throw error
            }
        }
        return count
    }

    /// The frame's time on the narration's clock: it advances by the container's own step while
    /// that step is positive and at most `longestGap`, otherwise by one frame interval (some
    /// containers repeat or omit timestamps, the tracker drops frames whose time does not
    /// increase, and a damaged timestamp must not open hours of silence in the WAV). Steps, not
    /// timestamps: after a cut back to 0 the clock runs on, and a stall inside the next clip
    /// still shows as a gap the tracker sees.
    static func time(of frame: Frame, after previous: Double?, previousTimestamp: Double?, frameRate: Double?) -> Double {
        guard let previous else { return frame.timestamp.isFinite ? min(max(0, frame.timestamp), longestGap) : 0 }
        if let previousTimestamp, frame.timestamp.isFinite {
            let step = frame.timestamp - previousTimestamp
            if step > 0, step <= longestGap { return previous + step }
        }
        return previous + 1 / (frameRate ?? 10)
    }

    /// Whether the container's clock breaks at `frame`, against the container's timestamp of
    /// the frame before (not the narration's clock, which runs on through a break): back by more
    /// than `longestWobble`, or ahead by more than `longestGap` (clips joined into one file).
    /// What held in one clip is not evidence in the next, so the tracker starts over and a green
    /// held at the end of one must be confirmed again in the next. A repeated or missing
    /// timestamp (containers without them read 0 throughout) is a glitch, not a cut.
    static func isCut(_ frame: Frame, after previous: Double?) -> Bool {
        guard let previous, frame.timestamp.isFinite else { return false }
        return frame.timestamp < previous - longestWobble || frame.timestamp - previous > longestGap
    }

    /// How far a timestamp may go back without being a cut: a variable-rate phone video's
    /// timestamps wobble by a frame or two, clips joined into one file start over by seconds.
    static let longestWobble = 1.0

    /// "1:02.5": minutes, seconds and tenths into the video.
    static func clock(_ seconds: Double) -> String {
        let tenths = Int((seconds * 10).rounded())
        return String(format: "%d:%02d.%d", tenths / 600, (tenths / 10) % 60, tenths % 10)
    }
}

/// A video that could not be narrated to its end.
enum VideoNarrationError: Error, CustomStringConvertible {
    case noFrames(String)
    case frameUnreadable(String, frame: Int, narrated: Int, detail: String)

    var description: String {
        switch self {
        case .noFrames(let path):
            "\(path): the video holds no frames that could be read"
        case .frameUnreadable(let path, let frame, let narrated, let detail):
            "\(path): stopped at frame \(frame) after narrating \(narrated) frame(s): \(detail)"
        }
    }
}
