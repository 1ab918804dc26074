import Foundation
import Imaging
import Logging
import Synchronization

/// The newest frame from the camera and when it was captured, on the daemon's clock.
struct CapturedFrame: Sendable {
    var image: Image
    var capturedAt: Double
    /// Increases by one per captured frame, so the worker can tell a new frame from one it has
    /// already analysed.
    var sequence: Int
}

/// Reads the camera on a thread of its own, as fast as it delivers (a video file at its own
/// pace, a folder at the analysis rate), and keeps only the newest frame: the pipeline always
/// works on the present and never on a queue of old frames. When the source fails or vanishes
/// it reports the loss and reconnects with exponential backoff.
final class CameraFeed: Sendable {
    struct Settings: Sendable {
        var source: String
        var rate: Double
        var capture: CaptureSettings
        var loop: Bool
        var maxBackoff: Double
        /// How long a live camera may deliver the same picture before the feed is reported
        /// frozen (the tracker's freshness limit); `nil` for files and folders, whose pictures
        /// may repeat on purpose. See `FrozenPictureWatch`.
        var frozenAfter: Double?
        /// How long one opening of a frozen camera may go on showing the same picture before it
        /// is closed and opened again (with the reconnect backoff): a stuck driver or capture
        /// device often comes back from a reopen, and the daemon must not stay blind until a
        /// restart.
        var reopenFrozenAfter = 5.0
    }

    private let settings: Settings
    private let state: DaemonState
    private let hub: EventHub
    private let metrics: DaemonMetrics
    private let logger: Logger
    private let latest = Mutex<CapturedFrame?>(nil)
    private let thread = DaemonThread(name: "assistd.camera")

    init(settings: Settings, state: DaemonState, hub: EventHub, metrics: DaemonMetrics, logger: Logger) {
        self.settings = settings
        self.state = state
        self.hub = hub
        self.metrics = metrics
        self.logger = logger
    }

    func start() { thread.start { [self] in run() } }

    /// Asks the thread to release the camera and end; `isRunning` turns false once it has.
    func stop() { thread.stop() }

    var isRunning: Bool { thread.isRunning }

    func newest() -> CapturedFrame? { latest.withLock { $0 } }

    private var stopped: Bool { thread.isStopRequested }

    // MARK: - The capture thread

    /// Why reading stopped.
    private enum Interruption: Error {
        case ended
        case lost(String)
        /// The camera delivered the same picture for `reopenFrozenAfter`: reopen it.
        case frozen
    }

    /// How long a reopened source must deliver before the reconnect backoff starts over: a camera
    /// that delivers one frame and fails again (a loose cable) is retried ever more slowly, not
    /// every quarter second.
    static let steadySeconds = 5.0

    /// The reconnect backoff, and how loudly each retry is logged: every retry while the wait
    /// still grows, then one line saying so and the rest at debug level (an unplugged camera must
    /// not write a line every few seconds all day).
    private struct Reconnect {
        let maxBackoff: Double
        private(set) var backoff = 0.25
        private var quiet = false

        init(maxBackoff: Double) {
            self.maxBackoff = maxBackoff
        }

        /// The source delivered for `steadySeconds`: the next loss starts over.
        mutating func steady() {
            backoff = 0.25
            quiet = false
        }

        /// Logs `message` for the retry about to wait `backoff` (`still` once the wait is at its
        /// longest, before the retries go quiet).
        mutating func retry(_ message: String, still: String, metadata: Logger.Metadata, logger: Logger) {
            var metadata = metadata
            metadata["retry_s"] = "\(backoff)"
            if quiet {
                logger.debug("\(message)", metadata: metadata)
            } else if backoff < maxBackoff {
                logger.warning("\(message)", metadata: metadata)
            } else {
                quiet = true
                logger.warning("\(still); retrying every \(maxBackoff) s, further retries logged at debug level", metadata: metadata)
            }
        }

        mutating func lengthen() {
            backoff = min(backoff * 2, maxBackoff)
        }
    }

    private func run() {
        var reconnect = Reconnect(maxBackoff: settings.maxBackoff)
        var sequence = 0
        // Kept across reconnects: a driver that fails and comes back with the same stuck picture
        // must not make it fresh again.
        var watch = FrozenPictureWatch()
        while !stopped {
            var firstFrameAt: Double?
            do {
                try capture(sequence: &sequence, watch: &watch, onFrame: {
                    let now = state.now
                    guard let first = firstFrameAt else {
                        firstFrameAt = now
                        return
                    }
                    if now - first >= Self.steadySeconds { reconnect.steady() }
                })
                return
            } catch {
                switch error {
                case .ended:
                    if settings.loop, !stopped { continue }
                    report(.ended, detail: "\(settings.source) ended")
                    return
                case .frozen:
                    state.update { $0.cameraReopens += 1 }
                    reconnect.retry("camera frozen (the same picture for \(settings.reopenFrozenAfter) s), reopening", still: "camera still frozen",
                                    metadata: ["source": "\(settings.source)"], logger: logger)
                case .lost(let detail):
                    report(.lost, detail: detail)
                    reconnect.retry("camera lost, retrying", still: "camera still lost",
                                    metadata: ["source": "\(settings.source)", "reason": "\(detail)"], logger: logger)
                }
                wait(seconds: reconnect.backoff)
                reconnect.lengthen()
            }
        }
    }

    /// Opens the source and reads until it ends, fails or a stop is asked for (returns).
    /// `onFrame` runs at each frame delivered: the reconnect backoff starts over only once the
    /// source has delivered for `steadySeconds`, so a camera that opens but never delivers, or
    /// delivers once and fails, is retried ever more slowly. A source that ends before its first
    /// frame is lost, not ended: looping it at once would spin.
    private func capture(sequence: inout Int, watch: inout FrozenPictureWatch, onFrame: () -> Void) throws(Interruption) {
        var isFolder: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: settings.source, isDirectory: &isFolder)
        if exists, isFolder.boolValue {
            try captureFolder(sequence: &sequence, onFrame: onFrame)
            return
        }
        let input = FrameInput(parsing: settings.source)
        let source: FrameSource
        do {
            source = try FrameSource(input, settings: settings.capture)
        } catch {
            throw .lost("\(error)")
        }
        // Running only once a frame has come: a camera marked running while its first frame is
        // still on the way made the worker say "camera blocked" just after "ready".
        var delivered = false
        let interval = input.isCamera || source.fps <= 0 ? 0 : 1 / source.fps
        let openedAt = state.now
        while !stopped {
            let started = state.now
            if !input.isCamera, !FileManager.default.fileExists(atPath: settings.source) {
                throw .lost("\(settings.source) was removed")
            }
            let frame: Frame
            do {
                frame = try source.next()
            } catch {
                if case .endOfStream = error {
                    throw delivered ? .ended : .lost("\(settings.source) ended before its first frame")
                }
                throw .lost("\(error)")
            }
            let now = state.now
            let capturedAt = settings.frozenAfter == nil ? now : watch.date(frame.image, receivedAt: now)
            publish(frame.image, capturedAt: capturedAt, sequence: &sequence)
            onFrame()
            if let frozenAfter = settings.frozenAfter, watch.unchangedFor(at: now) > frozenAfter {
                report(.frozen, detail: "\(input) has delivered the same picture for over \(frozenAfter) s: no fresh view")
                if watch.unchangedFor(at: now) > settings.reopenFrozenAfter, now - openedAt > settings.reopenFrozenAfter {
                    throw .frozen
                }
            } else if !delivered || state.read().camera == .frozen {
                report(.running, detail: "\(input) \(source.width)×\(source.height)")
            }
            delivered = true
            if interval > 0 { wait(seconds: interval - (state.now - started)) }
        }
    }

    private func captureFolder(sequence: inout Int, onFrame: () -> Void) throws(Interruption) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: settings.source)) ?? []
        let images = names.sorted().filter { ImageFormat(pathExtensionOf: $0) != nil }
        guard !images.isEmpty else { throw .lost("\(settings.source): the folder holds no images") }
        var delivered = false
        for name in images {
            guard !stopped else { return }
            let started = state.now
            let path = "\(settings.source)/\(name)"
            guard FileManager.default.fileExists(atPath: settings.source) else { throw .lost("\(settings.source) was removed") }
            do {
                publish(try Image.decode(file: path), capturedAt: state.now, sequence: &sequence)
                onFrame()
                if !delivered {
                    delivered = true
                    report(.running, detail: "\(settings.source): \(images.count) images")
                }
            } catch {
                logger.warning("skipping a frame that cannot be read", metadata: ["error": "\(error)"])
            }
            wait(seconds: 1 / settings.rate - (state.now - started))
        }
        throw delivered ? .ended : .lost("\(settings.source): none of its \(images.count) images could be read")
    }

    /// `capturedAt`: when the picture was first seen (a frozen camera's repeats keep the time of
    /// the first, so they go stale like missing frames).
    private func publish(_ image: Image, capturedAt: Double, sequence: inout Int) {
        sequence += 1
        let frame = CapturedFrame(image: image, capturedAt: capturedAt, sequence: sequence)
        latest.withLock { $0 = frame }
        state.update { $0.framesCaptured += 1 }
        metrics.framesCaptured.increment()
    }

    private func report(_ camera: CameraState, detail: String) {
        let now = state.now
        let changed = state.update { snapshot -> Bool in
            guard snapshot.camera != camera else { return false }
            snapshot.camera = camera
            snapshot.cameraDetail = detail
            if camera == .lost {
                snapshot.cameraLostAt = now
                snapshot.cameraLosses += 1
            } else if camera == .running {
                snapshot.cameraLostAt = nil
            }
            return true
        }
        guard changed else { return }
        if camera == .lost {
            metrics.cameraLosses.increment()
            // The frame from before the loss must not be analysed once the camera is back.
            latest.withLock { $0 = nil }
        }
        metrics.cameraUp.record(camera == .running ? 1 : 0)
        logger.notice("camera \(camera.rawValue)", metadata: ["detail": "\(detail)"])
        hub.publish("camera", CameraEvent(state: camera, detail: detail, time: now))
    }

    /// Sleeps in short steps, so that a stop is honoured within 50 ms.
    private func wait(seconds: Double) {
        let end = state.now + seconds
        while !stopped, state.now < end {
            Thread.sleep(forTimeInterval: min(0.05, max(0, end - state.now)))
        }
    }
}

struct CameraEvent: Encodable {
    var state: CameraState
    var detail: String
    var time: Double
}
