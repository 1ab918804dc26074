import ArgumentParser
import Foundation
import Fusion
import Imaging
import Narrator
import Pipeline
import Vision

/// `listen describe`: what the model sees in images, one line (or one JSON object) per input.
struct Describe: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Describe the street in images and videos: the light, the crosswalk and what is in the way.",
        discussion: """
            Each image goes through the shipped model (or --model): the heads and the experts give \
            the scene facts, and the language decoder writes the description in sentences those \
            facts hold (it is held to them while it decodes, so it never contradicts them). \
            Folders are searched \
            recursively in sorted order. An input that fails is reported by name and the rest go \
            on; the exit status is 1 if any failed.

            A still image is one frame: a green light in it is what the model saw, not a confirmed \
            walk signal. A video is narrated as a walk would be, through the same scene tracker \
            and narration policy as the daemon: green is said only once confirmed over several \
            frames, and a line is printed (and spoken) only when there is something to say. \
            Its narration in --wav starts at the moment of the video it is about; --overlay \
            writes an overlay video (MJPEG .avi) of the tracked facts.

            Examples:
              listen describe samples/
              listen describe --json samples/images/00_pedestrian_red_street.jpg
              listen describe --lang zh --overlay out/ samples/
              listen describe samples/ --wav narration.wav
              listen describe walk.mp4 --rate 5 --wav walk.wav --overlay out/
            """
    )

    @Argument(help: "Image files or folders.", completion: .file())
    var paths: [String]

    @OptionGroup var modelOptions: ModelOptions

    @Flag(help: "Print one JSON object of scene facts per image (JSON Lines, the DESIGN.md schema).")
    var json = false

    @Option(help: "Language of the description: en or zh.")
    var lang: String = "en"

    @Option(help: ArgumentHelp(
        "Write NAME.overlay.png per image (NAME.overlay.avi per video) with the facts drawn on it, into this folder; "
            + "a name already used in the run, or an input's, gets -2, -3, ….", valueName: "dir"))
    var overlay: String?

    @Option(help: ArgumentHelp("Speak every description, one after another, into this WAV file.", valueName: "file"))
    var wav: String?

    @Option(help: ArgumentHelp(
        "Write the speech as raw samples (16-bit little-endian, 22 050 Hz, mono, no header) into this file or named pipe, "
            + "e.g. for `aplay -f S16_LE -r 22050 -c 1`: one utterance after another, with no silence between (a video's "
            + "speech is not placed at its moments, as in --wav). A named pipe waits for its player.", valueName: "file"))
    var pcm: String?

    @Flag(help: "Speak every description on the sound device (ALSA 'default').")
    var speak = false

    @Option(help: ArgumentHelp("Caption with beam search of this width (1: greedy, the default).", valueName: "n"))
    var beams: Int = 1

    @Option(help: ArgumentHelp("Videos: frames per second of video to narrate (default 10).", valueName: "fps"))
    var rate: Double?

    @Option(help: ArgumentHelp("Videos: narrate every N-th frame instead of a rate.", valueName: "n"))
    var every: Int?

    @Option(help: "Videos: what the walker is doing, which decides what is said: crossing, walking or describe.")
    var mode: NarrationMode = .crossing

    // Optional, with the default in the help: ArgumentParser shows a raw-value enum's default as
    // its raw value ("1"), which teaches nothing.
    @Option(help: "Videos: how much is said unprompted: minimal, normal or verbose (default: normal).")
    var verbosity: Verbosity?

    func validate() throws {
        guard Language(rawValue: lang) != nil else { throw ValidationError("--lang must be en or zh") }
        if rate != nil, every != nil { throw ValidationError("give --rate or --every, not both") }
        if let rate, !(rate > 0 && rate <= 120) { throw ValidationError("--rate must be between 0 and 120 frames a second") }
        if let every, every < 1 { throw ValidationError("--every must be 1 or more") }
        if !(1...8).contains(beams) { throw ValidationError("--beams must be between 1 and 8") }
    }

    /// Which frames of a video are narrated.
    var sampling: VideoNarration.Sampling {
        if let every { return .everyNth(every) }
        return .rate(rate ?? 10)
    }

    func run() throws {
        let language = Language(rawValue: lang)!
        let model = try modelOptions.load()
        let stream = StreetModel.Stream(model, beamWidth: beams)
        if let overlay {
            do {
                try OutputFolder.create(overlay)
            } catch {
                printError("\(overlay): cannot create the overlay folder (\(error.reason))")
                throw ExitCode.failure
            }
        }
        let speech: Narration?
        do {
            speech = try Narration(wav: wav, pcm: pcm, speak: speak, language: language)
        } catch {
            printError("\(error)")
            throw ExitCode.failure
        }
        let encoder = JSONEncoder.factsLines
        var failures = 0
        var audioFailed = false
        let inputs = Array(InputCollection(paths: paths))
        var overlayNames = overlay.map { folder in
            OverlayNames(folder: folder, inputs: inputs.compactMap { try? $0.get() })
        }
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
                let narration = VideoNarration(
                    path: video, model: model, sampling: sampling, beams: beams,
                    narration: NarrationConfig(language: language, mode: mode, verbosity: verbosity ?? .normal),
                    json: json, overlayPath: overlayNames?.path(for: video, suffix: ".overlay.avi"))
                do {
                    let warning = try narration.run(speech: audioFailed ? nil : speech, progress: progress) { error in
                        // As for images: said once, the narration goes on without audio.
                        audioFailed = true
                        failures += 1
                        printError("\(error) (in \(video)); no more audio is written, the descriptions go on")
                    }
                    if let warning {
                        failures += 1
                        printError(warning)
                    }
                } catch {
                    failures += 1
                    printError("\(error)")
                }
                continue
            case .success(.image(let image)):
                path = image
            }
            do {
                let image = try Image.decode(file: path)
                try stream.readFrame(image)
                let caption = stream.caption(language, beamWidth: beams)
                let reading = FrameReading(stream)
                var facts = reading.facts(time: 0, configuration: model.configuration)
                let description = StillDescription.compose(facts: facts, caption: caption, language: language, lightStatus: reading.lightStatus)
                facts.description = description
                if json {
                    progress.print(try encoder.line(DescribedFrame(file: path, facts: facts)))
                } else {
                    progress.print("\(path): \(description)")
                }
                if let speech, !audioFailed {
                    do {
                        try speech.say(description)
                    } catch {
                        // Said once: every later image would fail the same way, and the
                        // descriptions are still worth having on the terminal.
                        audioFailed = true
                        printError("\(error) (at \(path)); no more audio is written, the descriptions go on")
                    }
                }
                if let overlayPath = overlayNames?.path(for: path, suffix: ".overlay.png") {
                    try Overlay.draw(facts, on: image, signal: stream.signalDecision).write(to: overlayPath)
                }
            } catch {
                failures += 1
                printError("\(error)")
            }
        }
        progress.finish()
        if !audioFailed {
            do {
                try speech?.finish()
            } catch {
                printError("\(error)")
                audioFailed = true
            }
        }
        if failures > 0 {
            printError("\(failures) of \(inputs.count) input(s) failed.")
        }
        if failures > 0 || audioFailed {
            throw ExitCode.failure
        }
    }
}

/// One line of `describe --json`: the file and its facts, keys as in DESIGN.md. For a video, one
/// line per narration, with what was said and how urgent it was.
struct DescribedFrame: Encodable {
    var file: String
    var facts: SceneFacts
    var said: [Utterance] = []

    func encode(to encoder: any Encoder) throws {
        try facts.encode(to: encoder)
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(file, forKey: .file)
        if !said.isEmpty {
            try container.encode(said.map { Said(text: $0.text, priority: "\($0.priority)", interrupts: $0.interrupts) }, forKey: .said)
        }
    }

    struct Said: Encodable {
        var text: String
        var priority: String
        var interrupts: Bool
    }

    enum Key: String, CodingKey { case file, said }
}

extension JSONEncoder {
    /// Sorted keys, unescaped slashes: one readable JSON object per line.
    static var factsLines: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    func line(_ value: some Encodable) throws -> String {
        String(decoding: try encode(value), as: UTF8.self).replacingOccurrences(of: "\n", with: " ")
    }
}

extension NarrationMode: ExpressibleByArgument {}

extension Verbosity: ExpressibleByArgument {
    public init?(argument: String) { self.init(name: argument) }

    public static var allValueStrings: [String] { allCases.map(\.name) }
}
