import Foundation
import Imaging

/// Reads frames at a steady rate from a camera, a video file or a folder, always the newest one,
/// and keeps going when a camera drops out.
struct CaptureLoop {
    let source: String
    let rate: Double
    let settings: CaptureSettings
    let loop: Bool
    let maxFrames: Int
    let maxBackoff: Double
    let stop: StopSignal

    func run() throws {
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: source, isDirectory: &isFolder), isFolder.boolValue {
            try runFolder()
        } else {
            try runStream(FrameInput(parsing: source))
        }
    }

    private func runFolder() throws {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: source)) ?? []
        let images = names.sorted().filter { ImageFormat(pathExtensionOf: $0) != nil }.map { "\(source)/\($0)" }
        guard !images.isEmpty else { throw DaemonError.emptyFolder(source) }
        var analysed = 0
        repeat {
            for path in images {
                guard !stop.isRequested, maxFrames == 0 || analysed < maxFrames else { return finish(analysed) }
                let started = Date()
                do {
                    let image = try Image.decode(file: path)
                    analysed += 1
                    log("frame \(analysed): \(path) \(image.width)×\(image.height)")
                } catch {
                    log("skipping \(error)")
                }
                sleep(untilNextFrameAfter: started)
            }
        } while loop
        finish(analysed)
    }

    private func runStream(_ input: FrameInput) throws {
        var analysed = 0
        var backoff = 0.25
        var frames: FrameSource?
        while !stop.isRequested, maxFrames == 0 || analysed < maxFrames {
            if frames == nil {
                do {
                    frames = try FrameSource(input, settings: settings)
                    backoff = 0.25
                    log("source open: \(input) \(frames!.width)×\(frames!.height)")
                } catch {
                    guard input.isCamera else { throw error }
                    log("camera unavailable: \(error); retrying in \(backoff) s")
                    wait(seconds: backoff)
                    backoff = min(backoff * 2, maxBackoff)
                    continue
                }
            }
            guard let open = frames else { continue }
            let started = Date()
            do {
                let frame = try newestFrame(from: open)
                analysed += 1
                log(String(format: "frame %d: t=%.2f s %d×%d", analysed, frame.timestamp, frame.image.width, frame.image.height))
            } catch {
                switch error {
                case .endOfStream:
                    guard loop else { return finish(analysed) }
                    frames = nil
                    continue
                case .deviceLost(_, let detail):
                    log("camera lost: \(detail); light state withheld until it is back")
                    frames = nil
                    continue
                default:
                    throw error
                }
            }
            sleep(untilNextFrameAfter: started)
        }
        finish(analysed)
    }

    /// For a video file, skips the frames that fall between two analysed ones, so the file plays
    /// at its own pace; a camera delivers its newest frame on each read.
    private func newestFrame(from frames: FrameSource) throws(ImagingError) -> Frame {
        if !frames.input.isCamera, frames.fps > rate {
            let skip = Int((frames.fps / rate).rounded()) - 1
            for _ in 0..<max(0, skip) { try frames.skip() }
        }
        return try frames.next()
    }

    private func sleep(untilNextFrameAfter started: Date) {
        let remaining = 1 / rate - Date().timeIntervalSince(started)
        if remaining > 0 { wait(seconds: remaining) }
    }

    /// Sleeps in short steps so a stop request is honoured within a tenth of a second.
    private func wait(seconds: Double) {
        let end = Date().addingTimeInterval(seconds)
        while !stop.isRequested, Date() < end {
            Thread.sleep(forTimeInterval: min(0.05, max(0, end.timeIntervalSinceNow)))
        }
    }

    private func finish(_ analysed: Int) {
        log("stopped after \(analysed) frames")
    }

    private func log(_ message: String) {
        FileHandle.standardError.write(Data("assistd: \(message)\n".utf8))
    }
}

enum DaemonError: Error, CustomStringConvertible {
    case emptyFolder(String)

    var description: String {
        switch self {
        case .emptyFolder(let path): "\(path): the folder holds no images"
        }
    }
}
