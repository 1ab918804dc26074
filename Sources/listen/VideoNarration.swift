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
    var overlayFolder: String?

    /// An overlay keeps showing what was said for this long.
    static let captionHold = 3.0

    func run(speech: Narration?, progress: Progress) throws {
        let source = try FrameSource(.videoFile(path))
        let step = switch sampling {
        case .everyNth(let n): n
        case .rate(let rate): source.fps > 0 ? max(1, Int((source.fps / rate).rounded())) : 1
        }
        let frameRate = source.fps > 0 ? source.fps / Double(step) : nil
        let narrator = StreetNarrator(model: model, narration: narration, frameRate: frameRate, beamWidth: beams)
        let encoder = JSONEncoder.factsLines
        let separator = narration.language == .english ? " " : ""
        var overlay: VideoWriter?
        var lastSaid: (text: String, time: Double)?
        var previousTime: Double?
        var narrated = 0
        speech?.startVideo()

        let expected = source.frameCount.map { ($0 + step - 1) / step }
        let name = URL(fileURLWithPath: path).lastPathComponent
        defer { progress.show("") }
        while let frame = try Self.nextFrame(source, narrated: narrated, step: step) {
            if narrated % 10 == 0 {
                progress.show("\(name) frame \(narrated)" + (expected.map { "/\($0)" } ?? ""))
            }
            let time = Self.time(of: frame, after: previousTime, frameRate: frameRate)
            previousTime = time
            narrated += 1

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
                try speech?.say(text, videoTime: time)
            }
            if let overlayFolder {
                var facts = moment.scene.facts
                facts.description = lastSaid.flatMap { time - $0.time <= Self.captionHold ? $0.text : nil }
                let picture = try Overlay.draw(facts, on: frame.image)
                if overlay == nil {
                    let name = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent + ".overlay.avi"
                    overlay = try VideoWriter(
                        path: URL(fileURLWithPath: overlayFolder).appendingPathComponent(name).path,
                        fps: frameRate ?? 10, width: picture.width, height: picture.height)
                }
                try overlay?.write(picture)
            }
            guard try Self.skip(step - 1, in: source) else { break }
        }
        overlay?.close()
        guard narrated > 0 else { throw VideoNarrationError.noFrames(path) }
        try speech?.endVideo(duration: (previousTime ?? 0) + 1 / (frameRate ?? 10))
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

    /// Drops `count` frames; false when the video ended first.
    static func skip(_ count: Int, in source: FrameSource) throws(ImagingError) -> Bool {
        for _ in 0..<count {
            do {
                try source.skip()
            } catch {
                if case .endOfStream = error { return false }
                throw error
            }
        }
        return true
    }

    /// The frame's time on the video's clock: the container's timestamp while it increases,
    /// otherwise one frame interval after the previous frame (some containers repeat or omit
    /// timestamps, and the tracker drops frames whose time does not increase).
    static func time(of frame: Frame, after previous: Double?, frameRate: Double?) -> Double {
        guard let previous else { return max(0, frame.timestamp) }
        if frame.timestamp > previous { return frame.timestamp }
        return previous + 1 / (frameRate ?? 10)
    }

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
