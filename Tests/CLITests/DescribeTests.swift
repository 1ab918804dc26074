import Foundation
import Imaging
import Testing

@Suite("listen describe, model info")
struct DescribeTests {
    static func temporaryFolder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("describe-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    @Test("Describes every sample; red samples say wait and no caption announces an unseen walk signal")
    func samples() throws {
        let run = try Programs.run("listen", ["describe", "samples"])
        #expect(run.status == 0, "\(run.errors)")
        let lines = run.output.split(separator: "\n").map(String.init)
        #expect(lines.count == 16)
        let red = try #require(lines.first { $0.contains("00_pedestrian_red_street.jpg") })
        #expect(red.hasSuffix(": Wait."))
        let dark = try #require(lines.first { $0.contains("04_pedestrian_signal_dark.jpg") })
        #expect(!dark.contains("Walk"))
        #expect(!run.output.lowercased().contains("safe"))
    }

    @Test("--json prints one scene-facts object per image with the DESIGN.md keys")
    func json() throws {
        let run = try Programs.run("listen", ["describe", "--json", "samples/images/06_vehicle_yellow.jpg"])
        #expect(run.status == 0, "\(run.errors)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(run.output.utf8)) as? [String: Any])
        #expect(object["file"] as? String == "samples/images/06_vehicle_yellow.jpg")
        let light = try #require(object["light"] as? [String: Any])
        #expect(light["state"] as? String == "yellow")
        #expect(light["kind"] as? String == "vehicle")
        #expect(object["crosswalk"] is [String: Any])
        #expect(object["obstacles"] is [Any])
        #expect((object["description"] as? String)?.isEmpty == false)
    }

    @Test("--beams captions with beam search; a red light still says wait and never walk; bad widths are refused")
    func beams() throws {
        let run = try Programs.run("listen", ["describe", "--beams", "3", "samples/images/00_pedestrian_red_street.jpg", "samples/images/10_crosswalk_right_with_light.jpg"])
        #expect(run.status == 0, "\(run.errors)")
        let lines = run.output.split(separator: "\n")
        #expect(lines.count == 2 && lines.allSatisfy { $0.contains(": Wait.") && !$0.contains("Walk") })
        for width in ["0", "9"] {
            let refused = try Programs.run("listen", ["describe", "--beams", width, "samples"])
            #expect(refused.status == 64 && refused.errors.contains("--beams must be between 1 and 8"))
        }
    }

    @Test("--wav writes speech for every description, in English and Mandarin")
    func wav() throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        for lang in ["en", "zh"] {
            let path = folder.appendingPathComponent("\(lang).wav").path
            let run = try Programs.run("listen", [
                "describe", "--lang", lang, "--wav", path,
                "samples/images/00_pedestrian_red_street.jpg", "samples/images/09_no_light_crosswalk_ahead.jpg",
            ])
            #expect(run.status == 0, "\(run.errors)")
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
            #expect(Array(bytes[0..<4]) == Array("RIFF".utf8) && Array(bytes[8..<12]) == Array("WAVE".utf8))
            let rate = Int(bytes[24]) | Int(bytes[25]) << 8 | Int(bytes[26]) << 16
            let dataBytes = Int(bytes[40]) | Int(bytes[41]) << 8 | Int(bytes[42]) << 16 | Int(bytes[43]) << 24
            #expect(rate == 22_050)
            #expect(dataBytes == bytes.count - 44)
            let seconds = Double(dataBytes / 2) / Double(rate)
            #expect(seconds > 0.8 && seconds < 20, "\(lang): \(seconds) s")
        }
    }

    @Test("--overlay writes a picture per image")
    func overlay() throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let run = try Programs.run("listen", ["describe", "--overlay", folder.path, "samples/images/10_crosswalk_right_with_light.jpg"])
        #expect(run.status == 0, "\(run.errors)")
        let png = folder.appendingPathComponent("10_crosswalk_right_with_light.overlay.png").path
        let inspect = try Programs.run("listen", ["inspect", png])
        #expect(inspect.status == 0)
        #expect(inspect.output.contains("image 640×"))
    }

    @Test("--overlay into the folder it reads keeps every input and gives each input an overlay of its own")
    func overlayBesideInputs() throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let red = "samples/images/00_pedestrian_red_street.jpg".inRepository
        let none = "samples/images/05_vehicle_red.jpg".inRepository
        try FileManager.default.copyItem(atPath: red, toPath: folder.appendingPathComponent("a.jpg").path)
        // a.png holds another picture, and a file already has the name a.jpg's overlay would take.
        let png = folder.appendingPathComponent("a.png").path
        try Image.decode(file: none).write(to: png)
        let taken = folder.appendingPathComponent("a.overlay.png").path
        try Image.decode(file: none).write(to: taken)
        let before = try [png, taken].map { try Data(contentsOf: URL(fileURLWithPath: $0)) }
        let run = try Programs.run("listen", ["describe", "--overlay", folder.path, folder.path])
        #expect(run.status == 0, "\(run.errors)")
        #expect(try [png, taken].map { try Data(contentsOf: URL(fileURLWithPath: $0)) } == before)
        #expect(run.output.contains("\(folder.path)/a.jpg: Wait."), "\(run.output)")
        #expect(run.output.contains("\(folder.path)/a.png: Wait. Scooter ahead"), "\(run.output)")
        // Read in sorted order: a.jpg, a.overlay.png (an input too), a.png.
        let written = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        #expect(written == ["a-2.overlay.png", "a-3.overlay.png", "a.jpg", "a.overlay.overlay.png", "a.overlay.png", "a.png"], "\(written)")
    }

    @Test("A WAV that cannot be written is said once; every description still reaches the terminal, exit 1")
    func audioThatCannotBeWritten() throws {
        let run = try Programs.run("listen", ["describe", "--wav", "/dev/full", "samples/images/00_pedestrian_red_street.jpg".inRepository,
                                              "samples/images/05_vehicle_red.jpg".inRepository])
        #expect(run.status == 1, "\(run.errors)")
        #expect(run.output.contains("00_pedestrian_red_street.jpg: Wait."), "\(run.output)")
        #expect(run.output.contains("05_vehicle_red.jpg: Wait."), "\(run.output)")
        #expect(run.errors.components(separatedBy: "/dev/full").count <= 3, "\(run.errors)")
        #expect(!run.errors.contains("input(s) failed"), "\(run.errors)")
    }

    @Test("A WAV that fails during a video is said once; both videos are still narrated to their ends, exit 1")
    func audioFailingInVideos() throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let first = try AssistdTests.walkVideo(in: folder, name: "first.avi")
        let second = try AssistdTests.walkVideo(in: folder, name: "second.avi")
        let run = try Programs.run("listen", ["describe", "--wav", "/dev/full", first, second])
        #expect(run.status == 1, "\(run.errors)")
        #expect(run.output.contains("first.avi 0:00.0: Wait."), "\(run.output)")
        #expect(run.output.contains("second.avi 0:00.0: Wait."), "\(run.output)")
        // Narrated past the failure: the red turning green is said in both.
        for video in ["first.avi", "second.avi"] {
            #expect(run.output.split(separator: "\n").filter { $0.contains("\(video) ") }.count >= 2, "\(run.output)")
        }
        #expect(run.errors.contains("no more audio is written, the descriptions go on"), "\(run.errors)")
        #expect(run.errors.components(separatedBy: "/dev/full").count <= 3, "\(run.errors)")
    }

    @Test("Bad inputs are named, the rest described, exit status 1")
    func badInputs() throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let corrupt = folder.appendingPathComponent("corrupt.jpg").path
        try Data("garbage".utf8).write(to: URL(fileURLWithPath: corrupt))
        let run = try Programs.run("listen", ["describe", corrupt, "samples/images/02_pedestrian_red_closeup.jpg", "/nonexistent.jpg"])
        #expect(run.status == 1)
        #expect(run.output.contains("02_pedestrian_red_closeup.jpg: Wait."))
        #expect(run.errors.contains("\(corrupt): not an image"))
        #expect(run.errors.contains("/nonexistent.jpg: no such file or folder"))
        #expect(run.errors.contains("2 of 3 input(s) failed."))
    }

    @Test("A wrong, truncated or missing model folder is refused with the file and the problem, exit 3")
    func badModels() throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let shipped = Programs.repository.appendingPathComponent("models/default")
        for name in ["config.json", "tokenizer.json", "model.safetensors"] {
            try FileManager.default.copyItem(at: shipped.appendingPathComponent(name), to: folder.appendingPathComponent(name))
        }
        let weights = folder.appendingPathComponent("model.safetensors")
        let full = try Data(contentsOf: weights)
        try full.prefix(full.count / 2).write(to: weights)
        let truncated = try Programs.run("listen", ["describe", "--model", folder.path, "samples/images/00_pedestrian_red_street.jpg"])
        #expect(truncated.status == 3)
        #expect(truncated.errors.contains("model.safetensors"))

        try Data("{\"format_version\": 7}".utf8).write(to: folder.appendingPathComponent("config.json"))
        let wrong = try Programs.run("listen", ["model", "info", folder.path])
        #expect(wrong.status == 3)
        #expect(wrong.errors.contains("config.json"))

        let missing = try Programs.run("listen", ["model", "info", "/nonexistent/model"])
        #expect(missing.status == 3)
        #expect(missing.errors.contains("/nonexistent/model: not a model folder"))
    }

    @Test("model info reports the shipped model's architecture and checksum")
    func modelInfo() throws {
        let run = try Programs.run("listen", ["model", "info"])
        #expect(run.status == 0, "\(run.errors)")
        for expected in ["ViT 160×160, patch 16", "GPT-2 style", "sha256 ", "languages:      en, zh", "engine:         matrix products on", "openblas:       OpenBLAS core"] {
            #expect(run.output.contains(expected), "missing \(expected)")
        }
    }
}
