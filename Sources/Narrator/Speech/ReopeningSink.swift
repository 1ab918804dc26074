import Synchronization

/// A sound device that may come and go: a USB or Bluetooth speaker unplugged and plugged back, a
/// device busy when the daemon starts. The device is opened when an utterance begins and let go
/// when it fails, so the next utterance opens it afresh: speech comes back on its own once the
/// device does, without a restart, and every utterance in between fails loudly (reported on the
/// queue's events) rather than vanishing into a dead handle.
public final class ReopeningSink: AudioSink {
    /// The device as opened, and which opening it is (so that a failure lets go of that opening
    /// only, never of one another thread made since).
    private struct Opened: Sendable {
        var sink: any AudioSink
        var number: Int
    }

    private let open: @Sendable () throws(AudioSinkError) -> any AudioSink
    private let device = Mutex<Opened?>(nil)
    private let opens = Atomic<Int>(0)

    /// `open` opens the device (`{ try ALSASink(device: name) }`); it is first called by `begin`
    /// (or `openNow`), always under the sink's lock, so the device is never opened twice at once.
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
        let device = try opened()
        try forgettingOnFailure(device) { (sink) throws(AudioSinkError) in try sink.begin(format: format) }
    }

    public func write(_ samples: UnsafeBufferPointer<Int16>) throws(AudioSinkError) {
        guard let device = device.withLock({ $0 }) else { throw .closed }
        try forgettingOnFailure(device) { (sink) throws(AudioSinkError) in try sink.write(samples) }
    }

    public func end() throws(AudioSinkError) {
        guard let device = device.withLock({ $0 }) else { throw .closed }
        try forgettingOnFailure(device) { (sink) throws(AudioSinkError) in try sink.end() }
    }

    public func discard() {
        device.withLock { $0 }?.sink.discard()
    }

    private func opened() throws(AudioSinkError) -> Opened {
        try device.withLock { (current) throws(AudioSinkError) -> Opened in
            if let current { return current }
            let opened = Opened(sink: try open(), number: opens.add(1, ordering: .relaxed).newValue)
            current = opened
            return opened
        }
    }

    /// Runs `step`; when it fails this opening of the device is let go (closing it), so the next
    /// utterance opens it again.
    private func forgettingOnFailure(_ device: Opened, _ step: (any AudioSink) throws(AudioSinkError) -> Void) throws(AudioSinkError) {
        do {
            try step(device.sink)
        } catch {
            self.device.withLock { current in
                if current?.number == device.number { current = nil }
            }
            throw error
        }
    }
}
