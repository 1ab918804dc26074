import Foundation
import Logging
import Narrator
import ServiceLifecycle

/// The camera and narration threads as a service of the daemon's service group: started with
/// it, and on SIGTERM/SIGINT stopped in order — speech cut off, the camera released, the event
/// streams ended so the API can close — within a fraction of a second.
struct PipelineService: Service {
    let feed: CameraFeed
    let worker: NarrationWorker
    let speech: SpeechQueue
    let state: DaemonState
    let hub: EventHub
    let logger: Logger

    func run() async throws {
        feed.start()
        worker.start()
        while worker.isRunning, !Task.isShuttingDownGracefully, !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(20))
        }
        state.update { $0.activity = .stopping }
        worker.stop()
        feed.stop()
        speech.interrupt()
        speech.close()
        hub.finish()
        let deadline = ContinuousClock.now + .milliseconds(600)
        while worker.isRunning || feed.isRunning, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
        if worker.isRunning || feed.isRunning {
            logger.warning("a pipeline thread did not stop in time; exiting anyway")
        }
        logger.notice("stopped", metadata: ["frames_analysed": "\(state.read().framesAnalysed)"])
    }
}
