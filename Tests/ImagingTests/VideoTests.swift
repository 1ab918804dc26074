import Foundation
import Testing
@testable import Imaging

@Suite("Video files and cameras")
struct VideoTests {
    /// Twelve frames that differ from each other: a moving square on a gradient.
    private func frames() throws -> [Image] {
        let scene = try Fixtures.scene().resized(width: 64, height: 48)
        return try (0..<12).map { i in
            var frame = scene
            try frame.drawRectangle(PixelRect(x: i * 4, y: 10, width: 12, height: 12), color: .white, thickness: -1)
            return frame
        }
    }

    @Test("A lossless video round-trips: frame count, pixels, timestamps, end of stream")
    func losslessRoundTrip() throws {
        let folder = try ScratchFolder()
        let path = folder.path("walk.avi")
        let written = try frames()
        let writer = try VideoWriter(path: path, codec: "FFV1", fps: 10, width: 64, height: 48)
        for frame in written { try writer.write(frame) }
        writer.close()

        let source = try FrameSource(.videoFile(path))
        #expect(source.width == 64 && source.height == 48)
        #expect(abs(source.fps - 10) < 0.01)
        #expect(source.frameCount == 12)
        var read: [Frame] = []
        while true {
            do {
                read.append(try source.next())
            } catch ImagingError.endOfStream(let subject) {
                #expect(subject == path)
                break
            }
        }
        #expect(read.count == 12)
        for (index, frame) in read.enumerated() {
            #expect(frame.index == index)
            #expect(frame.image == written[index], "frame \(index) differs")
            #expect(abs(frame.timestamp - Double(index) / 10) < 0.011, "frame \(index) at \(frame.timestamp) s")
        }
    }

    @Test("MJPEG, the codec every OpenCV build writes, round-trips closely and can skip frames")
    func mjpegRoundTripWithSkip() throws {
        let folder = try ScratchFolder()
        let path = folder.path("walk-mjpg.avi")
        let written = try frames()
        let writer = try VideoWriter(path: path, codec: "MJPG", fps: 5, width: 64, height: 48)
        for frame in written { try writer.write(frame) }
        writer.close()

        let source = try FrameSource(.videoFile(path))
        try source.skip()
        try source.skip()
        let third = try source.next()
        #expect(third.index == 2)
        // The frames carry ±20 noise, which MJPEG smooths: about 11 levels of mean error.
        func meanError(_ a: Image, _ b: Image) -> Double {
            Double(zip(a.pixels, b.pixels).map { abs(Int($0) - Int($1)) }.reduce(0, +)) / Double(a.pixels.count)
        }
        #expect(meanError(third.image, written[2]) < 14)
        // The moving square tells frames apart: the third frame read is the third written.
        #expect(meanError(third.image, written[2]) < meanError(third.image, written[1]))
        #expect(meanError(third.image, written[2]) < meanError(third.image, written[3]))
        var remaining = 0
        while (try? source.next()) != nil { remaining += 1 }
        #expect(remaining == 9)
    }

    @Test("Missing, empty and non-video files give errors that name them")
    func badVideoFiles() throws {
        let folder = try ScratchFolder()
        #expect(throws: ImagingError.notFound("/nonexistent/clip.mp4")) { try FrameSource(.videoFile("/nonexistent/clip.mp4")) }
        let empty = try folder.write("empty.mp4", [])
        #expect(throws: ImagingError.emptyFile(empty)) { try FrameSource(.videoFile(empty)) }
        let text = try folder.write("notes.mp4", Array(String(repeating: "not a video ", count: 200).utf8))
        do {
            _ = try FrameSource(.videoFile(text))
            Issue.record("a text file opened as a video")
        } catch {
            guard case .cannotOpenVideo(let subject, _) = error else { Issue.record("unexpected \(error)"); return }
            #expect(subject == text)
        }
    }

    @Test("A camera that is not there is reported, not crashed on")
    func missingCamera() {
        #expect(throws: ImagingError.notFound("/dev/video97")) { try FrameSource(.cameraDevice("/dev/video97")) }
        do {
            _ = try FrameSource(.cameraIndex(97))
            Issue.record("camera 97 opened")
        } catch {
            if case .cannotOpenVideo = error {} else { Issue.record("unexpected \(error)") }
        }
    }

    @Test("Writers refuse bad paths, codecs and frame sizes")
    func writerValidation() throws {
        let folder = try ScratchFolder()
        #expect(throws: ImagingError.self) { try VideoWriter(path: "/nonexistent/dir/x.avi", fps: 10, width: 64, height: 48) }
        #expect(throws: ImagingError.self) { try VideoWriter(path: folder.path("x.avi"), codec: "TOOLONG", fps: 10, width: 64, height: 48) }
        let writer = try VideoWriter(path: folder.path("y.avi"), fps: 10, width: 64, height: 48)
        #expect(throws: ImagingError.self) { try writer.write(try Image(width: 32, height: 32, color: .black)) }
        writer.close()
        #expect(throws: ImagingError.self) { try writer.write(try Image(width: 64, height: 48, color: .black)) }
    }

    @Test("Camera inputs parse from the command line")
    func parseInputs() {
        #expect(FrameInput(parsing: "0") == .cameraIndex(0))
        #expect(FrameInput(parsing: "/dev/video2") == .cameraDevice("/dev/video2"))
        #expect(FrameInput(parsing: "clips/walk.mp4") == .videoFile("clips/walk.mp4"))
        #expect(FrameInput(parsing: "/dev/video2").isCamera)
        #expect(!FrameInput(parsing: "walk.mp4").isCamera)
    }
}
