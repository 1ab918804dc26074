import Foundation
import Narrator
import Synchronization

/// The test process's one eSpeak-ng engine (libespeak-ng allows one per process), shared by
/// every speech test; the engine serialises their calls.
enum SharedEngine {
    static let result = Result { () throws(SpeechError) -> ESpeakEngine in try ESpeakEngine() }

    static func get() throws -> ESpeakEngine { try result.get() }
}

/// A sink that keeps what it is given, optionally sleeping per block the way a sound device
/// takes audio in real time.
final class MemorySink: AudioSink {
    struct Record: Sendable {
        var calls: [String] = []
        var samples: [Int16] = []
    }

    private let record = Mutex(Record())
    private let microsecondsPerBlock: UInt32

    init(microsecondsPerBlock: UInt32 = 0) {
        self.microsecondsPerBlock = microsecondsPerBlock
    }

    var calls: [String] { record.withLock { $0.calls } }
    var samples: [Int16] { record.withLock { $0.samples } }

    func begin(format: PCMFormat) throws(AudioSinkError) {
        record.withLock { $0.calls.append("begin \(format.sampleRate)") }
    }

    func write(_ samples: UnsafeBufferPointer<Int16>) throws(AudioSinkError) {
        record.withLock { $0.samples += samples }
        if microsecondsPerBlock > 0 { usleep(microsecondsPerBlock) }
    }

    func end() throws(AudioSinkError) {
        record.withLock { $0.calls.append("end") }
    }

    func discard() {
        record.withLock { $0.calls.append("discard") }
    }
}

/// A WAV file as read back: the header fields and the samples.
struct WAVFile {
    var bytes: [UInt8]

    init(path: String) throws {
        bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    func tag(at offset: Int) -> String { String(decoding: bytes[offset..<offset + 4], as: UTF8.self) }
    func u16(at offset: Int) -> Int { Int(bytes[offset]) | Int(bytes[offset + 1]) << 8 }
    func u32(at offset: Int) -> Int { u16(at: offset) | u16(at: offset + 2) << 16 }

    var samples: [Int16] {
        stride(from: 44, to: bytes.count - 1, by: 2).map { Int16(bitPattern: UInt16(bytes[$0]) | UInt16(bytes[$0 + 1]) << 8) }
    }

    var rms: Double {
        let values = samples
        guard !values.isEmpty else { return 0 }
        return (values.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(values.count)).squareRoot()
    }
}

func temporaryPath(_ name: String) -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("lttw-\(UUID().uuidString)-\(name)").path
}
