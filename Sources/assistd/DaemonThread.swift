import Foundation
import Synchronization

/// A named thread running one blocking loop (camera reads, model inference), with a stop flag
/// the loop polls and a way to see that it has ended. The daemon's blocking work lives on such
/// threads so that it never occupies Swift concurrency's few cooperative threads.
final class DaemonThread: Sendable {
    let name: String
    private let stopRequested = Atomic<Bool>(false)
    private let running = Atomic<Bool>(false)

    init(name: String) {
        self.name = name
    }

    /// Runs `body` on a new thread; `isRunning` is true until it returns.
    func start(_ body: @escaping @Sendable () -> Void) {
        running.store(true, ordering: .releasing)
        let thread = Thread { [self] in
            body()
            running.store(false, ordering: .releasing)
        }
        thread.name = name
        thread.start()
    }

    /// Asks the loop to end (it checks `isStopRequested`).
    func stop() { stopRequested.store(true, ordering: .releasing) }

    var isStopRequested: Bool { stopRequested.load(ordering: .acquiring) }

    var isRunning: Bool { running.load(ordering: .acquiring) }
}
