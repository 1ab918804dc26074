import CALSA
import Synchronization

/// Plays speech on a sound device through ALSA (libasound).
///
/// ALSA rather than PulseAudio or PipeWire: a Raspberry Pi or Jetson wearable running headless
/// has ALSA and usually no sound server; where a server runs, ALSA's "default" device reaches
/// it through its plugin anyway. The device is opened when the sink is created, so a missing
/// device is reported at start-up with `AudioSinkError.noSoundDevice`, not at the first warning
/// the wearer should have heard.
public final class ALSASink: AudioSink {
    public let device: String
    private let state: Mutex<State>

    /// How much audio ALSA buffers ahead, in microseconds: small, so that an interruption is
    /// heard within a tenth of a second.
    public static let latencyMicroseconds: UInt32 = 100_000

    private struct State {
        var handle: PCMHandle?
        var format: PCMFormat?
    }

    /// The `snd_pcm_t` pointer. Sendable because it is only ever used under `state`'s lock.
    private struct PCMHandle: @unchecked Sendable {
        let pointer: OpaquePointer
    }

    /// Opens `device` (an ALSA name: "default", "plughw:1,0", …) for playback. The open does not
    /// wait for a device another program holds (it fails at once, "Device or resource busy", and
    /// the next utterance tries again); writes then block as playback needs.
    public init(device: String = "default") throws(AudioSinkError) {
        var handle: OpaquePointer?
        let status = snd_pcm_open(&handle, device, SND_PCM_STREAM_PLAYBACK, SND_PCM_NONBLOCK)
        guard status >= 0, let handle else {
            throw .noSoundDevice(device: device, reason: Self.reason(status))
        }
        let blocking = snd_pcm_nonblock(handle, 0)
        guard blocking >= 0 else {
            snd_pcm_close(handle)
            throw .noSoundDevice(device: device, reason: Self.reason(blocking))
        }
        self.device = device
        state = Mutex(State(handle: PCMHandle(pointer: handle)))
    }

    deinit {
        state.withLock { state in
            if let handle = state.handle {
                snd_pcm_close(handle.pointer)
            }
            state.handle = nil
        }
    }

    public func begin(format: PCMFormat) throws(AudioSinkError) {
        try state.withLock { (state) throws(AudioSinkError) in
            guard let handle = state.handle?.pointer else { throw .closed }
            guard state.format != format else { return }
            let status = snd_pcm_set_params(
                handle, SND_PCM_FORMAT_S16_LE, SND_PCM_ACCESS_RW_INTERLEAVED,
                UInt32(format.channels), UInt32(format.sampleRate), 1, Self.latencyMicroseconds
            )
            guard status >= 0 else { throw .deviceFailed(device: device, reason: Self.reason(status)) }
            state.format = format
        }
    }

    public func write(_ samples: UnsafeBufferPointer<Int16>) throws(AudioSinkError) {
        try state.withLock { (state) throws(AudioSinkError) in
            guard let handle = state.handle?.pointer, let format = state.format else { throw .closed }
            var frameOffset = 0
            let frames = samples.count / format.channels
            while frameOffset < frames, let base = samples.baseAddress {
                let written = snd_pcm_writei(
                    handle, base + frameOffset * format.channels, snd_pcm_uframes_t(frames - frameOffset)
                )
                if written < 0 {
                    // An underrun (the speech thread was late) or a suspend: recover and retry.
                    let recovered = snd_pcm_recover(handle, Int32(written), 1)
                    guard recovered >= 0 else { throw .deviceFailed(device: device, reason: Self.reason(Int32(written))) }
                    continue
                }
                frameOffset += Int(written)
            }
        }
    }

    public func end() throws(AudioSinkError) {
        try state.withLock { (state) throws(AudioSinkError) in
            guard let handle = state.handle?.pointer else { throw .closed }
            let drained = snd_pcm_drain(handle)
            let prepared = snd_pcm_prepare(handle)
            guard drained >= 0, prepared >= 0 else {
                throw .deviceFailed(device: device, reason: Self.reason(drained < 0 ? drained : prepared))
            }
        }
    }

    public func discard() {
        state.withLock { state in
            guard let handle = state.handle?.pointer else { return }
            snd_pcm_drop(handle)
            snd_pcm_prepare(handle)
        }
    }

    private static func reason(_ status: Int32) -> String {
        guard let text = snd_strerror(status) else { return "error \(status)" }
        return String(cString: text)
    }
}
