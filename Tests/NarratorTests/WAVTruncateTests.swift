import Foundation
import Narrator
import Testing

@Suite("WAV file: cut back")
struct WAVTruncateTests {
    @Test("Cut back to a time: the samples before it stay, the header says the new size, writing goes on after it")
    func truncate() throws {
        let path = temporaryPath("cut.wav")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let sink = try WAVFileSink(path: path)
        try sink.begin(format: PCMFormat(sampleRate: 1000))
        let ramp = (0..<3000).map { Int16($0) }
        try ramp.withUnsafeBufferPointer { (samples) throws(AudioSinkError) in try sink.write(samples) }
        try sink.end()
        try sink.truncate(to: 1.25)
        #expect(sink.duration == 1.25)
        try sink.truncate(to: 2)
        #expect(sink.duration == 1.25, "never lengthened")
        try [Int16](repeating: 7, count: 10).withUnsafeBufferPointer { (samples) throws(AudioSinkError) in try sink.write(samples) }
        try sink.close()
        let file = try WAVFile(path: path)
        #expect(file.bytes.count == 44 + (1250 + 10) * 2)
        #expect(file.u32(at: 40) == (1250 + 10) * 2 && file.u32(at: 4) == 36 + (1250 + 10) * 2)
        #expect(Array(file.samples.prefix(1250)) == Array(ramp.prefix(1250)))
        #expect(Array(file.samples.suffix(10)) == [Int16](repeating: 7, count: 10))
        #expect(throws: AudioSinkError.closed) { try sink.truncate(to: 0) }
    }
}
