import Synchronization

/// A sound device that may come and go: a USB or Bluetooth speaker unplugged and plugged back, a
/// device busy when the daemon starts. The device is opened when an utterance begins and let go
/// when it fails, so the next utterance opens it afresh: speech comes back on its own once the
/// device does, without a restart, and every utterance in between fails loudly (reported on the
/// queue's events) rather than vanishing into a dead handle.
public final class ReopeningSink: AudioSink {
    private let open: @Sendable () throws(AudioSinkError) -> any AudioSink
    private let device = Mutex<(any AudioSink)?>(nil)
    /// How many times the device was opened, for the status and for tests.
    private let opens = Atomic<Int>(0)

    /// `open` opens the device (`{ try ALSASink(device: name) }`); it is first called by `begin`.
    public init(open: @escaping @Sendable () throws(AudioSinkError) -> any AudioSink) {
        self.open = open
    }

    /// How many times the device has been opened.
    public var openCount: Int { opens.load(ordering: .relaxed) }

    /// Opens the device now, rather than at the first utterance, to report at start whether it is
    /// there; a failure is returned, and the next utterance tries again.
    public func openNow() -> AudioSinkError? {
        do {
            _ = try opened()
            return nil
        } catch {
            return error
        }
    }

    public func begin(format: PCMFormat) throws(AudioSinkError) {
        let sink = try opened()
        try forgettingOnFailure(sink) { (sink) throws(AudioSinkError) in try sink.begin(format: format) }
    }

    public func write(_ samples: UnsafeBufferPointer<Int16>) throws(AudioSinkError) {
        guard let sink = device.withLock({ $0 }) else { throw .closed }
        try forgettingOnFailure(sink) { (sink) throws(AudioSinkError) in try sink.write(samples) }
    }

    public func end() throws(AudioSinkError) {
        guard let sink = device.withLock({ $0 }) else { throw .closed }
        try forgettingOnFailure(sink) { (sink) throws(AudioSinkError) in try sink.end() }
    }

    public func discard() {
        device.withLock { $0 }?.discard()
    }

    private func opened() throws(AudioSinkError) -> any AudioSink {
        if let sink = device.withLock({ $0 }) { return sink }
        let sink = try open()
        opens.add(1, ordering: .relaxed)
        device.withLock { $0 = sink }
        return sink
    }

    /// Runs `step`; when it fails the device is let go (closing it), so the next utterance opens it
    /// again.
    private func forgettingOnFailure(_ sink: any AudioSink, _ step: (any AudioSink) throws(AudioSinkError) -> Void) throws(AudioSinkError) {
        do {
            try step(sink)
        } catch {
            device.withLock { $0 = nil }
            throw error
        }
    }
}
