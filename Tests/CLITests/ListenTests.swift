import Foundation
import Imaging
import Testing

@Suite("listen")
struct ListenTests {
    @Test("--help teaches: what it is for, subcommands and examples")
    func help() throws {
        let run = try Programs.run("listen", ["--help"])
        #expect(run.status == 0)
        #expect(run.output.contains("blind and low-vision"))
        #expect(run.output.contains("inspect"))
        #expect(run.output.contains("Examples:"))
        let inspect = try Programs.run("listen", ["inspect", "--help"])
        #expect(inspect.status == 0)
        #expect(inspect.output.contains("--max-megapixels"))
    }

    @Test("inspect reports images in a folder in sorted order")
    func inspectFolder() throws {
        let run = try Programs.run("listen", ["inspect", Programs.fixture("")])
        #expect(run.status == 0, "\(run.errors)")
        let lines = run.output.split(separator: "\n").map(String.init)
        #expect(lines == lines.sorted())
        // The JPEG parity fixtures in jpeg/ and the lamp fixtures in lamps/ come first (sorted
        // paths), then the two scene images.
        let scenes = lines.filter { !$0.contains("/jpeg/") && !$0.contains("/lamps/") }
        #expect(scenes.count == 2)
        #expect(scenes.first?.hasSuffix("scene.jpg: image 123×97") == true)
        #expect(scenes.last?.hasSuffix("scene.png: image 123×97") == true)
        #expect(lines.count > 2)
    }

    @Test("A bad input is reported by name, the rest still run, and the exit status is 1")
    func badInputsDoNotStopTheRun() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("listen-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let corrupt = folder.appendingPathComponent("corrupt.jpg").path
        try Data("not a jpeg".utf8).write(to: URL(fileURLWithPath: corrupt))
        let truncatedBytes = try Data(contentsOf: URL(fileURLWithPath: Programs.fixture("scene.jpg")))
        let truncated = folder.appendingPathComponent("truncated.jpg").path
        try truncatedBytes.prefix(truncatedBytes.count / 2).write(to: URL(fileURLWithPath: truncated))
        let emptyFolder = folder.appendingPathComponent("nothing").path
        try FileManager.default.createDirectory(atPath: emptyFolder, withIntermediateDirectories: true)
        let brokenVideo = folder.appendingPathComponent("clip.mp4").path
        try Data(repeating: 7, count: 4096).write(to: URL(fileURLWithPath: brokenVideo))

        let run = try Programs.run("listen", [
            "inspect", corrupt, Programs.fixture("scene.png"), "/nonexistent.png", truncated, emptyFolder, brokenVideo,
        ])
        #expect(run.status == 1)
        #expect(run.output.contains("scene.png: image 123×97"))
        #expect(run.errors.contains("\(corrupt): not an image"))
        #expect(run.errors.contains("/nonexistent.png: no such file or folder"))
        #expect(run.errors.contains("\(truncated): truncated image"))
        #expect(run.errors.contains("\(emptyFolder): the folder holds no images or videos"))
        #expect(run.errors.contains("\(brokenVideo): cannot be opened as a video"))
        #expect(run.errors.contains("5 input(s) failed."))
        #expect(!run.errors.contains("Fatal error"))
    }

    @Test("inspect reads a video's size, rate and length")
    func inspectVideo() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("listen-\(UUID().uuidString).avi").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let writer = try VideoWriter(path: path, codec: "MJPG", fps: 8, width: 64, height: 48)
        let frame = try Image(width: 64, height: 48, color: .gray)
        for _ in 0..<5 { try writer.write(frame) }
        writer.close()
        let run = try Programs.run("listen", ["inspect", path])
        #expect(run.status == 0, "\(run.errors)")
        #expect(run.output.contains("\(path): video 64×48, 8.00 fps, 5 frames"))
    }

    @Test("A huge header is refused at the limit the user sets")
    func megapixelLimit() throws {
        let run = try Programs.run("listen", ["inspect", "--max-megapixels", "0.01", Programs.fixture("scene.png")])
        #expect(run.status == 1)
        #expect(run.errors.contains("image too large"))
    }
}
