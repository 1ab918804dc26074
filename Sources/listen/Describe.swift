import ArgumentParser
import Foundation
import Imaging
import Narrator
import Pipeline
import Vision

/// `listen describe`: what the model sees in images, one line (or one JSON object) per input.
struct Describe: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Describe the street in images: the light, the crosswalk and what is in the way.",
        discussion: """
            Each image goes through the shipped model (or --model): the perception heads give the \
            scene facts, the language decoder writes the description. Folders are searched \
            recursively in sorted order. An input that fails is reported by name and the rest go \
            on; the exit status is 1 if any failed.

            A still image is one frame: a green light in it is what the model saw, not a confirmed \
            walk signal. The daemon and video narration confirm green over several frames.

            Examples:
              listen describe samples/
              listen describe --json samples/images/00_pedestrian_red_street.jpg
              listen describe --lang zh --overlay out/ samples/
              listen describe samples/ --wav narration.wav
            """
    )

    @Argument(help: "Image files or folders.", completion: .file())
    var paths: [String]

    @OptionGroup var modelOptions: ModelOptions

    @Flag(help: "Print one JSON object of scene facts per image (JSON Lines, the DESIGN.md schema).")
    var json = false

    @Option(help: "Language of the description: en or zh.")
    var lang: String = "en"

    @Option(help: ArgumentHelp("Write a PNG per image with the facts drawn on it, into this folder.", valueName: "dir"))
    var overlay: String?

    @Option(help: ArgumentHelp("Speak every description, one after another, into this WAV file.", valueName: "file"))
    var wav: String?

    @Flag(help: "Speak every description on the sound device (ALSA 'default').")
    var speak = false

    func validate() throws {
        guard Language(rawValue: lang) != nil else { throw ValidationError("--lang must be en or zh") }
    }

    func run() throws {
        let language = Language(rawValue: lang)!
        let model = try modelOptions.load()
        let stream = StreetModel.Stream(model)
        if let overlay {
            do {
                try FileManager.default.createDirectory(atPath: overlay, withIntermediateDirectories: true)
            } catch {
                printError("\(overlay): cannot create the overlay folder: \(error)")
                throw ExitCode.failure
            }
        }
        let speech: Narration?
        do {
            speech = try Narration(wav: wav, speak: speak, language: language)
        } catch {
            printError("\(error)")
            throw ExitCode.failure
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var failures = 0
        let inputs = Array(InputCollection(paths: paths))
        let progress = Progress(total: inputs.count, label: "describe")
        for input in inputs {
            defer { progress.advance() }
            let path: String
            switch input {
            case .failure(let problem):
                failures += 1
                printError(problem.description)
                continue
            case .success(.video(let video)):
                failures += 1
                printError("\(video): videos are narrated by `listen narrate`; describe takes images")
                continue
            case .success(.image(let image)):
                path = image
            }
            do {
                let image = try Image.decode(file: path)
                try stream.preprocess(image)
                stream.perceive()
                let caption = stream.caption(language)
                var facts = FrameReading(stream.heads, configuration: model.configuration)
                    .facts(time: 0, configuration: model.configuration)
                let description = StillDescription.compose(facts: facts, caption: caption, language: language)
                facts.description = description
                try speech?.say(description)
                if json {
                    var line = String(decoding: try encoder.encode(DescribedFrame(file: path, facts: facts)), as: UTF8.self)
                    line = line.replacingOccurrences(of: "\n", with: " ")
                    progress.print(line)
                } else {
                    progress.print("\(path): \(description)")
                }
                if let overlay {
                    let name = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent + ".png"
                    try Overlay.draw(facts, on: image).write(to: URL(fileURLWithPath: overlay).appendingPathComponent(name).path)
                }
            } catch {
                failures += 1
                printError("\(error)")
            }
        }
        progress.finish()
        do {
            try speech?.finish()
        } catch {
            printError("\(error)")
            failures += 1
        }
        if failures > 0 {
            printError("\(failures) of \(inputs.count) input(s) failed.")
            throw ExitCode.failure
        }
    }
}

/// One line of `describe --json`: the file and its facts, keys as in DESIGN.md.
struct DescribedFrame: Encodable {
    var file: String
    var facts: SceneFacts

    func encode(to encoder: any Encoder) throws {
        try facts.encode(to: encoder)
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(file, forKey: .file)
    }

    enum Key: String, CodingKey { case file }
}
