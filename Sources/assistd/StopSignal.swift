import Dispatch
import Foundation
import Synchronization

/// Turns SIGTERM and SIGINT into a flag the capture loop polls, so shutdown is prompt and orderly
/// (the camera is released, nothing half-spoken is left queued).
final class StopSignal {
    private final class Flag: Sendable {
        let raised = Atomic<Bool>(false)
    }

    private let flag = Flag()
    private let sources: [any DispatchSourceSignal]

    init() {
        let flag = self.flag
        sources = [SIGTERM, SIGINT].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { flag.raised.store(true, ordering: .relaxed) }
            source.resume()
            return source
        }
    }

    var isRequested: Bool { flag.raised.load(ordering: .relaxed) }
}
