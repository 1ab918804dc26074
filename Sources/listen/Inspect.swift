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

    @Option(help: "Refuse files larger than this many MiB.")
    var maxMegabytes: Double = 64

    func validate() throws {
        guard (0.000001...100_000).contains(maxMegapixels) else {
            throw ValidationError("--max-megapixels must be a number above 0 and at most 100000")
        }
        guard (0.000001...1_000_000).contains(maxMegabytes) else {
            throw ValidationError("--max-megabytes must be a number above 0 and at most 1000000")
        }
    }

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
                    print(DisplayName.escaped(try describe(item, limits: limits)))
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
            let count = Self.frameCountText(source.frameCount, path: path)
            let rate = source.fps > 0 ? String(format: "%.2f fps", source.fps) : "unknown fps"
            return "\(path): video \(first.image.width)×\(first.image.height), \(rate), \(count)"
        }
    }

    /// The container's frame count, said as an estimate unless its last frame can be read.
    static func frameCountText(_ count: Int?, path: String) -> String {
        guard let count else { return "unknown length" }
        if (try? FrameSource.lastFrameReadable(path: path, frameCount: count)) == true { return "\(count) frames" }
        return "about \(count) frames (the container's count; frame \(count) cannot be read, so the file may be truncated)"
    }
}

/// One line on standard error, control characters escaped: a file name can hold a newline, and
/// printed raw it would forge a second line of output.
func printError(_ message: String) {
    FileHandle.standardError.write(Data("listen: \(DisplayName.escaped(message))\n".utf8))
}
