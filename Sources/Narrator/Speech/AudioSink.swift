/// The shape of the audio eSpeak-ng produces: 16-bit signed little-endian samples, mono.
public struct PCMFormat: Sendable, Hashable {
    public var sampleRate: Int
    public var channels: Int

    public init(sampleRate: Int, channels: Int = 1) {
        self.sampleRate = sampleRate
        self.channels = channels
    }

    public var bytesPerFrame: Int { channels * 2 }
}

/// Where synthesised speech goes: a file, the sound device, a pipe.
///
/// Called from one thread at a time (the speech queue's), in the order
/// `begin` → `write`… → `end` or `discard`, once per utterance.
public protocol AudioSink: Sendable {
    /// Before the first samples of an utterance.
    func begin(format: PCMFormat) throws(AudioSinkError)
    func write(_ samples: UnsafeBufferPointer<Int16>) throws(AudioSinkError)
    /// The utterance is complete: let what is buffered play out.
    func end() throws(AudioSinkError)
    /// The utterance was interrupted: silence it now, dropping what is buffered where the sink
    /// can (a device can; a file keeps what was written).
    func discard()
}
