import Foundation
import Narrator
import Synchronization
import Testing

/// Every test that uses the engine, one at a time. The engine is one lock around one C library:
/// a gated sink in one test holds it, and tests in parallel would block every cooperative thread
/// waiting for it, leaving none to let the gated test go on.
@Suite("eSpeak-ng engine", .serialized, .timeLimit(.minutes(1)))
struct EngineSuite {}

/// The test process's one eSpeak-ng engine (libespeak-ng allows one per process), shared by
/// every speech test; the engine serialises their calls.
enum SharedEngine {
    static let result = Result { () throws(SpeechError) -> ESpeakEngine in try ESpeakEngine() }

    static func get() throws -> ESpeakEngine { try result.get() }
}

/// A sink that keeps what it is given. A gated one holds its first write until `open()`, so a
/// test can act while an utterance is certainly still being spoken, however loaded the machine.
final class MemorySink: AudioSink {
    struct Record: Sendable {
        var calls: [String] = []
        var samples: [Int16] = []
        var gateClosed: Bool
    }

    private let record: Mutex<Record>
    private let gate = DispatchSemaphore(value: 0)

    init(gated: Bool = false) {
        record = Mutex(Record(gateClosed: gated))
    }

    /// Lets the held first write (and every later one) through.
    func open() {
        gate.signal()
    }

    var calls: [String] { record.withLock { $0.calls } }
    var samples: [Int16] { record.withLock { $0.samples } }

    func begin(format: PCMFormat) throws(AudioSinkError) {
        record.withLock { $0.calls.append("begin \(format.sampleRate)") }
    }

    func write(_ samples: UnsafeBufferPointer<Int16>) throws(AudioSinkError) {
        let wait = record.withLock { record in
            record.samples += samples
            defer { record.gateClosed = false }
            return record.gateClosed
        }
        if wait { gate.wait() }
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
