#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// The canonical 44-byte RIFF/WAVE header for integer PCM, written by hand so that the bytes are
/// ours to test: "RIFF", size, "WAVE", a 16-byte "fmt " chunk (format 1 = PCM), "data", size.
public enum WAVHeader {
    public static let byteCount = 44

    /// The header for `dataByteCount` bytes of 16-bit samples in `format`; `nil` when the sizes
    /// do not fit the header's 32-bit fields.
    public static func bytes(format: PCMFormat, dataByteCount: Int) -> [UInt8]? {
        guard dataByteCount >= 0, dataByteCount <= Int(UInt32.max) - 36 else { return nil }
        var header: [UInt8] = []
        header.reserveCapacity(byteCount)
        header += Array("RIFF".utf8)
        append(UInt32(36 + dataByteCount), to: &header)
        header += Array("WAVE".utf8)
        header += Array("fmt ".utf8)
        append(UInt32(16), to: &header)
        append(UInt16(1), to: &header)
        append(UInt16(format.channels), to: &header)
        append(UInt32(format.sampleRate), to: &header)
        append(UInt32(format.sampleRate * format.bytesPerFrame), to: &header)
        append(UInt16(format.bytesPerFrame), to: &header)
        append(UInt16(16), to: &header)
        header += Array("data".utf8)
        append(UInt32(dataByteCount), to: &header)
        return header
    }

    private static func append<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { bytes += $0 }
    }
}

/// Writes every utterance, one after another, into one WAV file. The header is written first
/// with zero sizes and completed by `close()`, so a file cut short by a crash is still a WAV
/// file (of length zero) rather than garbage.
public final class WAVFileSink: AudioSink {
    public let path: String
    private let state: Mutex<State>

    private struct State {
        var file: UnsafeMutablePointer<FILE>?
        var format: PCMFormat?
        var dataBytes = 0
    }

    public init(path: String) throws(AudioSinkError) {
        guard let file = fopen(path, "wb") else {
            throw .fileOpenFailed(path: path, reason: String(cString: strerror(errno)))
        }
        self.path = path
        state = Mutex(State(file: file))
        try writePlaceholderHeader()
    }

    deinit {
        try? close()
    }

    private func writePlaceholderHeader() throws(AudioSinkError) {
        let header = WAVHeader.bytes(format: PCMFormat(sampleRate: 0), dataByteCount: 0) ?? []
        try state.withLock { (state) throws(AudioSinkError) in
            guard let file = state.file else { throw .closed }
            guard fwrite(header, 1, header.count, file) == header.count else {
                throw .writeFailed(path: path, reason: String(cString: strerror(errno)))
            }
        }
    }

    public func begin(format: PCMFormat) throws(AudioSinkError) {
        try state.withLock { (state) throws(AudioSinkError) in
            guard state.file != nil else { throw .closed }
            if let existing = state.format, existing != format {
                throw .formatChanged(from: existing, to: format)
            }
            state.format = format
        }
    }

    public func write(_ samples: UnsafeBufferPointer<Int16>) throws(AudioSinkError) {
        try state.withLock { (state) throws(AudioSinkError) in
            guard let file = state.file else { throw .closed }
            let bytes = samples.count * 2
            guard state.dataBytes + bytes <= Int(UInt32.max) - 36 else { throw .fileTooLarge(path: path) }
            let little = samples.map(\.littleEndian)
            let written = little.withUnsafeBytes { fwrite($0.baseAddress, 1, bytes, file) }
            guard written == bytes else {
                throw .writeFailed(path: path, reason: String(cString: strerror(errno)))
            }
            state.dataBytes += bytes
        }
    }

    /// The header is brought up to date after every utterance, so a daemon killed or crashed
    /// leaves a file that plays up to its last utterance (it used to hold a header of 0 Hz and
    /// 0 bytes until `close`, which a daemon stopped by a signal may never reach).
    public func end() throws(AudioSinkError) {
        try state.withLock { (state) throws(AudioSinkError) in
            guard let file = state.file else { throw .closed }
            guard Self.writeHeader(state, to: file), fseek(file, 0, SEEK_END) == 0, fflush(file) == 0 else {
                throw .writeFailed(path: path, reason: String(cString: strerror(errno)))
            }
        }
    }

    /// What an interrupted utterance wrote stays in the file, with the header updated for it.
    public func discard() {
        state.withLock { state in
            guard let file = state.file else { return }
            _ = Self.writeHeader(state, to: file) && fseek(file, 0, SEEK_END) == 0 && fflush(file) == 0
        }
    }

    /// Writes the header for what `state` holds at the start of `file`; the caller seeks back.
    private static func writeHeader(_ state: State, to file: UnsafeMutablePointer<FILE>) -> Bool {
        let format = state.format ?? PCMFormat(sampleRate: 22_050)
        let header = WAVHeader.bytes(format: format, dataByteCount: state.dataBytes) ?? []
        return fseek(file, 0, SEEK_SET) == 0 && fwrite(header, 1, header.count, file) == header.count
    }

    /// Seconds of audio written so far (0 before the first `begin`).
    public var duration: Double {
        state.withLock { state in
            guard let format = state.format, format.sampleRate > 0 else { return 0 }
            return Double(state.dataBytes / format.bytesPerFrame) / Double(format.sampleRate)
        }
    }

    /// Appends silence so that the file lasts at least `seconds`: narration of a video is placed
    /// at the moment of the video it speaks about. Needs `begin(format:)` first; does nothing
    /// when the file is already that long.
    public func extendWithSilence(to seconds: Double) throws(AudioSinkError) {
        let (format, written) = state.withLock { ($0.format, $0.dataBytes) }
        guard let format else { return }
        let target = Int((seconds * Double(format.sampleRate)).rounded()) * format.channels
        var missing = target - written / 2
        let block = [Int16](repeating: 0, count: 4096)
        try block.withUnsafeBufferPointer { (zeros) throws(AudioSinkError) in
            while missing > 0 {
                let count = min(missing, zeros.count)
                try write(UnsafeBufferPointer(rebasing: zeros[0..<count]))
                missing -= count
            }
        }
    }

    /// Cuts the file back to `seconds` of audio (nothing when it is shorter): a narration track
    /// of a video cuts off what an interrupting utterance cuts off on the device, so that a walk
    /// withdrawn is heard at its moment, not after the sentence before it.
    public func truncate(to seconds: Double) throws(AudioSinkError) {
        try state.withLock { (state) throws(AudioSinkError) in
            guard let file = state.file else { throw .closed }
            guard let format = state.format, format.sampleRate > 0 else { return }
            let kept = Int((max(0, seconds) * Double(format.sampleRate)).rounded()) * format.bytesPerFrame
            guard kept < state.dataBytes else { return }
            state.dataBytes = kept
            guard fflush(file) == 0, ftruncate(fileno(file), off_t(WAVHeader.byteCount + kept)) == 0,
                  Self.writeHeader(state, to: file), fseek(file, 0, SEEK_END) == 0, fflush(file) == 0
            else { throw .writeFailed(path: path, reason: String(cString: strerror(errno))) }
        }
    }

    /// Completes the header with the sizes and closes the file. Later writes fail with `closed`.
    public func close() throws(AudioSinkError) {
        try state.withLock { (state) throws(AudioSinkError) in
            guard let file = state.file else { return }
            state.file = nil
            let ok = Self.writeHeader(state, to: file)
            let reason = String(cString: strerror(errno))
            let closed = fclose(file) == 0
            guard ok, closed else { throw .writeFailed(path: path, reason: reason) }
        }
    }
}

/// Raw 16-bit little-endian mono samples (22 050 Hz, eSpeak-ng's rate) on standard output, a
/// file or a named pipe, for another program to play or carry (`aplay -f S16_LE -r 22050 -c 1`,
/// a Bluetooth or haptics bridge). Utterances follow each other with no gaps or headers.
public final class RawPCMSink: AudioSink {
    private let fileDescriptor: Int32
    private let path: String
    private let owned: Bool

    /// `fileDescriptor` is standard output unless a test or a caller passes another; it is not
    /// closed by the sink.
    public init(fileDescriptor: Int32 = 1) {
        self.fileDescriptor = fileDescriptor
        path = fileDescriptor == 1 ? "standard output" : "file descriptor \(fileDescriptor)"
        owned = false
        Self.shortenPipe(fileDescriptor)
    }

    /// Opens `path` for writing: a file is created or emptied; a named pipe with no reader yet
    /// calls `waitingForReader` (to say so) and then waits for one.
    public init(path: String, waitingForReader: () -> Void = {}) throws(AudioSinkError) {
        var descriptor = open(path, O_WRONLY | O_NONBLOCK | O_TRUNC | O_CLOEXEC)
        if descriptor < 0, errno == ENXIO {
            waitingForReader()
            descriptor = open(path, O_WRONLY | O_CLOEXEC)
        } else if descriptor < 0, errno == ENOENT {
            descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        } else if descriptor >= 0 {
            _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) & ~O_NONBLOCK)
        }
        guard descriptor >= 0 else { throw .fileOpenFailed(path: path, reason: String(cString: strerror(errno))) }
        fileDescriptor = descriptor
        self.path = path
        owned = true
        Self.shortenPipe(descriptor)
    }

    /// A pipe holds 64 KiB by default, 1.5 s of speech that an interruption cannot take back
    /// (unlike a sound device's buffer, which `discard` drops). Shortened to a page, about 0.1 s;
    /// the reader's own buffer adds its latency (aplay: `--buffer-time`).
    private static func shortenPipe(_ descriptor: Int32) {
        var status = stat()
        guard fstat(descriptor, &status) == 0, status.st_mode & S_IFMT == S_IFIFO else { return }
        #if os(Linux)
        let setPipeSize: Int32 = 1031  // F_SETPIPE_SZ (F_LINUX_SPECIFIC_BASE + 7), not imported by Glibc
        _ = fcntl(descriptor, setPipeSize, 4096)
        #endif
    }

    deinit {
        if owned { _ = close(fileDescriptor) }
    }

    public func begin(format: PCMFormat) throws(AudioSinkError) {}

    public func write(_ samples: UnsafeBufferPointer<Int16>) throws(AudioSinkError) {
        let little = samples.map(\.littleEndian)
        let failure: AudioSinkError? = little.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = writeToDescriptor(fileDescriptor, raw.baseAddress! + offset, raw.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return .writeFailed(path: path, reason: String(cString: strerror(errno)))
                }
                offset += written
            }
            return nil
        }
        if let failure { throw failure }
    }

    public func end() throws(AudioSinkError) {}

    public func discard() {}
}

/// The C `write(2)`, named apart from `AudioSink.write(_:)`.
private func writeToDescriptor(_ descriptor: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    write(descriptor, bytes, count)
}
