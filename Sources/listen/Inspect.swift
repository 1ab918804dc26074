import ArgumentParser
import Imaging

import Foundation

/// `listen inspect`: what the decoders see in each input, without running the model.
struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the format, size and frame rate of images and videos, and whether they decode.",
        discussion: """
            Folders are searched recursively in sorted order. Each image is fully decoded \
            (so a corrupt file is caught); videos are opened and their first frame read. \
            Exits with status 1 if any input failed, after reporting all of them.
            """
    )

    @Argument(help: "Image files, video files or folders.", completion: .file())
    var paths: [String]

    @Option(help: "Refuse images whose header declares more than this many megapixels.")
    var maxMegapixels: Double = 40

    @Option(help: "Refuse files larger than this many megabytes.")
    var maxMegabytes: Double = 64

    func run() throws {
        let limits = DecodeLimits(
            maxFileBytes: Int(maxMegabytes * 1_048_576), maxPixels: Int(maxMegapixels * 1_000_000))
        var failures: [String] = []
        for input in InputCollection(paths: paths) {
            switch input {
            case .failure(let problem):
                failures.append(problem.description)
                printError(problem.description)
            case .success(let item):
                do {
                    print(try describe(item, limits: limits))
                } catch {
                    failures.append("\(error)")
                    printError("\(error)")
                }
            }
        }
        if !failures.isEmpty {
            printError("\(failures.count) input(s) failed.")
            throw ExitCode.failure
        }
    }

    private func describe(_ item: InputItem, limits: DecodeLimits) throws(ImagingError) -> String {
        switch item {
        case .image(let path):
            let image = try Image.decode(file: path, limits: limits)
            return "\(path): image \(image.width)×\(image.height)"
        case .video(let path):
            let source = try FrameSource(.videoFile(path))
            let first = try source.next()
            let count = source.frameCount.map { "\($0) frames" } ?? "unknown length"
            let rate = source.fps > 0 ? String(format: "%.2f fps", source.fps) : "unknown fps"
            return "\(path): video \(first.image.width)×\(first.image.height), \(rate), \(count)"
        }
    }
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data("listen: \(message)\n".utf8))
}
