import ArgumentParser
import Foundation
import Imaging

@main
struct AssistDaemon: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "assistd",
        abstract: "The ListenToTheWorld daemon: watches the street through a camera and narrates it.",
        discussion: """
            assistd runs all day on the wearable. It reads frames from a camera, a video file or a \
            folder of images at a steady rate, always working on the newest frame and dropping \
            older ones, so nothing it reports is stale. When the camera disappears it says so and \
            reconnects with backoff when it comes back. SIGTERM or SIGINT stop it cleanly.

            Sources:
              --source 0                   camera index 0 (/dev/video0) through V4L2
              --source /dev/video2         a camera by device path
              --source walk.mp4 --loop     a video file, played at its own pace, looping
              --source frames/             a folder of images, in sorted order

            Examples:
              assistd --source 0 --rate 5 --width 640 --height 480
              assistd --source samples/ --rate 2 --max-frames 10
            """
    )

    @Option(help: "Camera index, /dev/videoN, a video file or a folder of images.")
    var source: String = "0"

    @Option(help: "Frames per second to analyse; the camera may deliver more, which are dropped.")
    var rate: Double = 5

    @Option(help: "Requested camera width in pixels (0: the camera's default).")
    var width: Int = 0

    @Option(help: "Requested camera height in pixels (0: the camera's default).")
    var height: Int = 0

    @Flag(help: "Start a video file or folder again when it ends.")
    var loop = false

    @Option(help: "Stop after this many frames (0: run until stopped).")
    var maxFrames: Int = 0

    @Option(help: "Longest wait between camera reconnection attempts, in seconds.")
    var maxBackoff: Double = 5

    func validate() throws {
        guard rate > 0, rate <= 120 else { throw ValidationError("--rate must be between 0 and 120 frames per second") }
        guard width >= 0, height >= 0 else { throw ValidationError("--width and --height must not be negative") }
        guard maxFrames >= 0 else { throw ValidationError("--max-frames must not be negative") }
        guard maxBackoff >= 0.1 else { throw ValidationError("--max-backoff must be at least 0.1 seconds") }
    }

    func run() throws {
        let stop = StopSignal()
        let capture = CaptureLoop(
            source: source, rate: rate, settings: CaptureSettings(width: width, height: height, fps: rate),
            loop: loop, maxFrames: maxFrames, maxBackoff: maxBackoff, stop: stop)
        try capture.run()
    }
}
