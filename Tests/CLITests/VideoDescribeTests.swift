import Foundation
import Imaging
import Testing

/// `listen describe` on videos: the frames go through the scene tracker and the narration policy
/// as a walk would, with the shipped model.
@Suite("listen describe on videos")
struct VideoDescribeTests {
    /// A 5 s walk at 10 fps: 2 s at a red pedestrian light, 2 s at a green one, 1 s at red again
    /// (sample scenes rendered by the generator, written as MJPEG).
    static func redGreenRed(in folder: URL) throws -> String {
        let red = try Image.decode(file: "samples/images/00_pedestrian_red_street.jpg".inRepository)
        let green = try Image.decode(file: "samples/images/01_pedestrian_green_street.jpg".inRepository)
            .resized(width: red.width, height: red.height)
        let path = folder.appendingPathComponent("walk.avi").path
        let writer = try VideoWriter(path: path, codec: "MJPG", fps: 10, width: red.width, height: red.height)
        for frame in 0..<50 { try writer.write(frame < 20 || frame >= 40 ? red : green) }
        writer.close()
        return path
    }

    /// "walk.avi 0:02.4: text" → (2.4, "text").
    static func narration(_ output: String) -> [(time: Double, text: String)] {
        output.split(separator: "\n").compactMap { line in
            let parts = line.split(separator: " ", maxSplits: 2)
            guard parts.count == 3, parts[1].hasSuffix(":") else { return nil }
            let clock = parts[1].dropLast().split(separator: ":")
            guard clock.count == 2, let minutes = Double(clock[0]), let seconds = Double(clock[1]) else { return nil }
            return (minutes * 60 + seconds, String(parts[2]))
        }
    }

    @Test("A red–green–red walk: wait at once, never walk without confirmation, wait again when red returns")
    func narratesAWalk() throws {
        let folder = try DescribeTests.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let video = try Self.redGreenRed(in: folder)
        let run = try Programs.run("listen", ["describe", video])
        #expect(run.status == 0, "\(run.errors)")
        let said = Self.narration(run.output)
        let first = try #require(said.first)
        #expect(first.time == 0 && first.text == "Wait.")
        // Walk may only be said once green is confirmed: ≥ 0.8 s into the green segment, and
        // never while red is in view (0–2 s, 4–5 s).
        for line in said where line.text.contains("Walk") {
            #expect(line.time >= 2.8 - 1e-9 && line.time < 4.0, "walk said at \(line.time)")
        }
        // The light changed at 2 s: it is not red any more, so something other than wait is said.
        #expect(said.contains { $0.time >= 2.0 && $0.time < 4.0 && !$0.text.contains("Wait") })
        // Red again at 4 s is said within 0.3 s (one frame sure of red is enough).
        #expect(said.contains { $0.time >= 4.0 && $0.time <= 4.3 && $0.text.contains("Wait") })
        #expect(!run.output.lowercased().contains("safe"))
    }

    @Test("--json prints the tracked facts and what was said, in time order")
    func json() throws {
        let folder = try DescribeTests.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let video = try Self.redGreenRed(in: folder)
        let run = try Programs.run("listen", ["describe", "--json", "--every", "2", video])
        #expect(run.status == 0, "\(run.errors)")
        let objects = try run.output.split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        #expect(objects.count >= 2)
        let times = objects.compactMap { $0["time"] as? Double }
        #expect(times.count == objects.count && times == times.sorted())
        let first = try #require(objects.first)
        #expect(first["file"] as? String == video)
        #expect((first["light"] as? [String: Any])?["state"] as? String == "red")
        let said = try #require(first["said"] as? [[String: Any]])
        #expect(said.first?["text"] as? String == "Wait.")
        #expect(said.first?["priority"] as? String == "signal")
        #expect(first["description"] as? String == "Wait.")
    }

    @Test("--wav places the narration at its moment of the video; --overlay writes an overlay video")
    func wavAndOverlay() throws {
        let folder = try DescribeTests.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let video = try Self.redGreenRed(in: folder)
        let wav = folder.appendingPathComponent("walk.wav").path
        let overlays = folder.appendingPathComponent("overlays").path
        let run = try Programs.run("listen", ["describe", "--rate", "5", "--wav", wav, "--overlay", overlays, video])
        #expect(run.status == 0, "\(run.errors)")
        let data = try Data(contentsOf: URL(fileURLWithPath: wav))
        let rate = data[24..<28].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        let seconds = Double(data.count - 44) / 2 / Double(rate)
        // The WAV lasts at least as long as the video, speech starts at 0 ("Wait.", ~0.6 s), and
        // the silence after it lasts until the light changes at 2 s.
        #expect(seconds >= 5.0, "\(seconds) s")
        let samples = data[44...].withUnsafeBytes { Array($0.bindMemory(to: Int16.self)) }
        #expect(samples[0..<Int(0.6 * Double(rate))].contains { abs(Int($0)) > 1000 })
        #expect(samples[Int(1.2 * Double(rate))..<Int(2.0 * Double(rate))].allSatisfy { $0 == 0 })

        let overlay = try FrameSource(.videoFile(URL(fileURLWithPath: overlays).appendingPathComponent("walk.overlay.avi").path))
        #expect(overlay.frameCount == 25)
        #expect(overlay.width >= 480)
    }

    @Test("A video that cannot be opened is named; the other inputs are still described, exit 1")
    func badVideo() throws {
        let folder = try DescribeTests.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let broken = folder.appendingPathComponent("broken.mp4").path
        try Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 7919) }).write(to: URL(fileURLWithPath: broken))
        let empty = folder.appendingPathComponent("empty.avi").path
        _ = FileManager.default.createFile(atPath: empty, contents: Data())
        let run = try Programs.run("listen", ["describe", broken, empty, "samples/images/00_pedestrian_red_street.jpg"])
        #expect(run.status == 1)
        #expect(run.errors.contains("\(broken): cannot be opened as a video"))
        #expect(run.errors.contains("\(empty): the file is empty"))
        #expect(run.errors.contains("2 of 3 input(s) failed"))
        #expect(run.output.contains("00_pedestrian_red_street.jpg: Wait."))
    }

    @Test("--rate and --every together, or out of range, are refused")
    func samplingOptions() throws {
        for arguments in [["--rate", "5", "--every", "2"], ["--rate", "0"], ["--every", "0"]] {
            let run = try Programs.run("listen", ["describe"] + arguments + ["samples"])
            #expect(run.status == 64, "\(arguments)")
            #expect(run.errors.contains("--rate") || run.errors.contains("--every"))
        }
    }
}

extension String {
    /// A path relative to the repository root, made absolute.
    var inRepository: String { Programs.repository.appendingPathComponent(self).path }
}
