import ArgumentParser
import Foundation
import Hummingbird
import Kernels
import Logging
import Narrator
import Pipeline
import ServiceLifecycle

@main
struct AssistDaemon: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "assistd",
        abstract: "The ListenToTheWorld daemon: watches the street through a camera and narrates it.",
        discussion: """
            assistd runs all day on the wearable. It reads frames from a camera, a video file or a \
            folder of images, always working on the newest frame and dropping older ones, runs the \
            model, tracks the scene over time and speaks: the signal (walk only once confirmed), \
            the crosswalk and what is in the way. A frame too old is never spoken about, and what \
            waits to be spoken is checked against the newest scene first; a camera that keeps \
            delivering the same picture counts as blocked; when the camera disappears it says so, \
            reconnects with backoff and says "Camera back." when it returns. SIGTERM or \
            SIGINT stop it cleanly; SIGHUP reloads the config file.

            Settings come from --config FILE (YAML; deploy/assistd.yaml documents every key and \
            its default), then from the flags below, which win.

            Sources:
              --source 0                   camera index 0 (/dev/video0) through V4L2
              --source /dev/video2         a camera by device path
              --source walk.mp4 --loop     a video file, played at its own pace, looping
              --source frames/             a folder of images, in sorted order
            Cameras, video files and BMP, WebP and TIFF images need libCVMedia.so next to assistd \
            (or on the library search path, or named by LTTW_MEDIA_LIBRARY=FILE), loaded on first use.

            Local API: GET /status /facts /events /metrics; POST /pause /resume /describe /repeat \
            /mode/M /verbosity/V /language/L. By default only on the Unix socket \
            /run/assistd/api.sock (mode 0600: the daemon's own user). HTTP is off unless --http \
            is given, and then every request needs "Authorization: Bearer TOKEN" with the token \
            from --token-file (created, mode 0600, at the first start), a loopback Host and no \
            foreign Origin.

            Examples:
              assistd --config /etc/assistd/assistd.yaml
              assistd --source 0 --rate 5 --speech alsa --socket assistd.sock
              curl -s --unix-socket assistd.sock http://localhost/status
              assistd --source walk.mp4 --loop --speech none --socket '' --http 127.0.0.1:8377 --token-file ~/.assistd-token
              curl -s -H "Authorization: Bearer $(cat ~/.assistd-token)" localhost:8377/status
            """
    )

    @Option(help: ArgumentHelp("YAML configuration file.", valueName: "file"))
    var config: String?

    @Option(help: "Camera index, /dev/videoN, a video file or a folder of images.")
    var source: String?

    @Option(help: """
        Frames per second to analyse, 2 to 120 (default 5; slower, a light would be spoken from frames too old to \
        trust); the camera may deliver more, which are dropped.
        """)
    var rate: Double?

    @Option(help: "Requested camera width in pixels (0: the camera's default).")
    var width: Int?

    @Option(help: "Requested camera height in pixels (0: the camera's default).")
    var height: Int?

    @Flag(help: "Start a video file or folder again when it ends.")
    var loop = false

    @Option(help: "Longest wait between camera reconnection attempts, in seconds.")
    var maxBackoff: Double?

    @Option(help: "Stop after analysing this many frames (0: run until stopped).")
    var maxFrames: Int = 0

    @Option(help: ArgumentHelp("Model folder (default: $LTTW_MODEL, else ./models/default, else the shipped model of the checkout assistd was built from).", valueName: "dir"))
    var model: String?

    @Option(help: "Threads for the numeric kernels.")
    var threads: Int?

    @Option(help: "Narration language: en or zh.")
    var lang: String?

    @Option(help: "crossing, walking or describe.")
    var mode: String?

    @Option(help: "minimal, normal or verbose.")
    var verbosity: String?

    @Option(help: ArgumentHelp(
        "Where speech goes: alsa, none, pcm (raw 16-bit 22 050 Hz mono samples on standard output, for another program to play) or wav:PATH.",
        valueName: "output"))
    var speech: String?

    @Option(help: ArgumentHelp("HTTP API address, HOST:PORT (port 0: any free port; empty: off, the default). Needs the bearer token.", valueName: "address"))
    var http: String?

    @Option(help: ArgumentHelp("Unix domain socket for the API (mode 0600; empty: off).", valueName: "path"))
    var socket: String?

    @Option(help: ArgumentHelp("File holding the HTTP API's bearer token (created, mode 0600, when missing).", valueName: "path"))
    var tokenFile: String?

    @Option(help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String?

    @Flag(help: "Check the configuration, print it and exit.")
    var checkConfig = false

    func validate() throws {
        guard maxFrames >= 0 else { throw ValidationError("--max-frames must not be negative") }
    }

    /// The flags that override the configuration file.
    var overrides: ConfigurationOverrides {
        ConfigurationOverrides(
            source: source, rate: rate, width: width, height: height, loop: loop ? true : nil, maxBackoff: maxBackoff,
            model: model, threads: threads, language: lang, mode: mode, verbosity: verbosity, speech: speech,
            http: http, socket: socket, tokenFile: tokenFile, logLevel: logLevel)
    }

    func run() async throws {
        let settings: DaemonConfiguration
        do {
            settings = try DaemonConfiguration.effective(file: config, overrides: overrides)
        } catch {
            FileHandle.standardError.write(Data("assistd: \(error)\n".utf8))
            throw ExitCode(2)
        }
        if checkConfig {
            print(settings.summary)
            return
        }
        umask(0o077)
        let level = Logger.Level(rawValue: settings.log.level) ?? .info
        LoggingSystem.bootstrap { JournalLogHandler(label: $0, level: level) }
        let logger = Logger(label: "assistd")
        let daemon: Daemon
        do {
            daemon = try Daemon(settings: settings, maxFrames: maxFrames, configPath: config, overrides: overrides, logger: logger)
        } catch {
            logger.critical("cannot start", metadata: ["error": "\(error)"])
            throw ExitCode(3)
        }
        try await daemon.run()
    }
}
