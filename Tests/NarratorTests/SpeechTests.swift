import Foundation
import Narrator
import Testing

@Suite("WAV and sinks")
struct SinkTests {
    @Test("The WAV header for 1000 bytes of 22 050 Hz mono 16-bit PCM, byte by byte")
    func headerBytes() {
        let header = WAVHeader.bytes(format: PCMFormat(sampleRate: 22_050), dataByteCount: 1000)
        let expected: [UInt8] = [
            0x52, 0x49, 0x46, 0x46, 0x0C, 0x04, 0x00, 0x00,  // "RIFF", 36 + 1000
            0x57, 0x41, 0x56, 0x45,  // "WAVE"
            0x66, 0x6D, 0x74, 0x20, 0x10, 0x00, 0x00, 0x00,  // "fmt ", 16
            0x01, 0x00, 0x01, 0x00,  // PCM, mono
            0x22, 0x56, 0x00, 0x00,  // 22 050 Hz
            0x44, 0xAC, 0x00, 0x00,  // 44 100 bytes per second
            0x02, 0x00, 0x10, 0x00,  // 2 bytes per frame, 16 bits
            0x64, 0x61, 0x74, 0x61, 0xE8, 0x03, 0x00, 0x00,  // "data", 1000
        ]
        #expect(header == expected)
        #expect(WAVHeader.bytes(format: PCMFormat(sampleRate: 22_050), dataByteCount: Int(UInt32.max)) == nil)
    }

    @Test("A WAV file sink writes the header, little-endian samples, and completes the sizes on close")
    func wavFileSink() throws {
        let path = temporaryPath("sink.wav")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let sink = try WAVFileSink(path: path)
        try sink.begin(format: PCMFormat(sampleRate: 16_000))
        try [Int16(1), -2, 0x0102].withUnsafeBufferPointer { samples throws(AudioSinkError) in try sink.write(samples) }
        try sink.end()
        #expect(throws: AudioSinkError.formatChanged(from: PCMFormat(sampleRate: 16_000), to: PCMFormat(sampleRate: 22_050))) {
            try sink.begin(format: PCMFormat(sampleRate: 22_050))
        }
        try sink.close()
        let file = try WAVFile(path: path)
        #expect(file.bytes.count == 50)
        #expect(Array(file.bytes[..<44]) == WAVHeader.bytes(format: PCMFormat(sampleRate: 16_000), dataByteCount: 6))
        #expect(Array(file.bytes[44...]) == [0x01, 0x00, 0xFE, 0xFF, 0x02, 0x01])
        #expect(throws: AudioSinkError.closed) { try sink.begin(format: PCMFormat(sampleRate: 16_000)) }
    }

    @Test("A WAV file is whole after every utterance, before close: a daemon stopped by a signal leaves a file that plays")
    func wavWholeBeforeClose() throws {
        let path = temporaryPath("open.wav")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let sink = try WAVFileSink(path: path)
        try sink.begin(format: PCMFormat(sampleRate: 22_050))
        try [Int16(1), -2].withUnsafeBufferPointer { samples throws(AudioSinkError) in try sink.write(samples) }
        try sink.end()
        var file = try WAVFile(path: path)
        #expect(Array(file.bytes[..<44]) == WAVHeader.bytes(format: PCMFormat(sampleRate: 22_050), dataByteCount: 4))
        // An interrupted utterance keeps what it wrote, and the header counts it; writing goes on at the end.
        try sink.begin(format: PCMFormat(sampleRate: 22_050))
        try [Int16(3)].withUnsafeBufferPointer { samples throws(AudioSinkError) in try sink.write(samples) }
        sink.discard()
        try [Int16(4)].withUnsafeBufferPointer { samples throws(AudioSinkError) in try sink.write(samples) }
        try sink.end()
        file = try WAVFile(path: path)
        #expect(Array(file.bytes[..<44]) == WAVHeader.bytes(format: PCMFormat(sampleRate: 22_050), dataByteCount: 8))
        #expect(Array(file.bytes[44...]) == [0x01, 0x00, 0xFE, 0xFF, 0x03, 0x00, 0x04, 0x00])
        try sink.close()
    }

    @Test("A WAV sink on an unwritable path says which path and why")
    func wavOpenFailure() {
        #expect {
            try WAVFileSink(path: "/nonexistent-folder/out.wav")
        } throws: { error in
            guard case let .fileOpenFailed(path, reason) = error as? AudioSinkError else { return false }
            return path == "/nonexistent-folder/out.wav" && reason == "No such file or directory"
        }
    }

    @Test("Raw PCM goes out as 16-bit little-endian samples with no header")
    func standardOutputSink() throws {
        var descriptors: [Int32] = [0, 0]
        #expect(pipe(&descriptors) == 0)
        let sink = RawPCMSink(fileDescriptor: descriptors[1])
        try [Int16(1), -2, 0x0102].withUnsafeBufferPointer { samples throws(AudioSinkError) in try sink.write(samples) }
        close(descriptors[1])
        var buffer = [UInt8](repeating: 0, count: 16)
        let count = read(descriptors[0], &buffer, buffer.count)
        close(descriptors[0])
        #expect(Array(buffer[..<max(count, 0)]) == [0x01, 0x00, 0xFE, 0xFF, 0x02, 0x01])
    }

    @Test("A pipe behind the raw sink is shortened to a page: an interruption waits behind 0.1 s of audio, not 1.5 s")
    func rawSinkShortensItsPipe() throws {
        var descriptors: [Int32] = [0, 0]
        #expect(pipe(&descriptors) == 0)
        defer {
            close(descriptors[0])
            close(descriptors[1])
        }
        let getPipeSize: Int32 = 1032  // F_GETPIPE_SZ
        #expect(fcntl(descriptors[1], getPipeSize) == 65_536)
        _ = RawPCMSink(fileDescriptor: descriptors[1])
        #expect(fcntl(descriptors[1], getPipeSize) == 4096)
    }

    @Test("The ALSA sink drives ALSA's 'null' device: parameters, writes, drain, drop, and a new rate")
    func alsaNullDevice() throws {
        let sink = try ALSASink(device: "null")
        #expect(sink.device == "null")
        let tone = (0..<2205).map { Int16(8000 * sin(Double($0) * 2 * .pi * 440 / 22_050)) }
        for (rate, interrupted) in [(22_050, false), (22_050, true), (16_000, false)] {
            try sink.begin(format: PCMFormat(sampleRate: rate))
            try tone.withUnsafeBufferPointer { samples throws(AudioSinkError) in try sink.write(samples) }
            if interrupted {
                sink.discard()
            } else {
                try sink.end()
            }
        }
    }

    @Test("A missing sound device is a clear error that names the device and what to check")
    func noSoundDevice() {
        #expect {
            try ALSASink(device: "hw:99,0")
        } throws: { error in
            guard let error = error as? AudioSinkError, case let .noSoundDevice(device, _) = error else { return false }
            return device == "hw:99,0" && error.description.contains("aplay -l") && error.description.contains("WAV file")
        }
    }
}

extension EngineSuite {
    @Suite("eSpeak-ng speech")
    struct SpeechTests {
        @Test("The engine runs at eSpeak-ng's 22 050 Hz and finds its data")
        func engine() throws {
            let engine = try SharedEngine.get()
            #expect(engine.sampleRate == 22_050)
            #expect(FileManager.default.fileExists(atPath: engine.dataPath + "/phontab"))
        }

        @Test("A second engine, or a bad data path, is refused with a typed error before eSpeak-ng can exit")
        func engineRefusals() throws {
            _ = try SharedEngine.get()
            #expect(throws: SpeechError.engineAlreadyExists) { try ESpeakEngine() }
            #expect(throws: SpeechError.dataNotFound(path: "/nonexistent/espeak")) { try ESpeakEngine(dataPath: "/nonexistent/espeak") }
        }

        @Test("Unknown voices and out-of-range settings are refused")
        func voiceErrors() throws {
            let engine = try SharedEngine.get()
            #expect(throws: SpeechError.voiceNotFound("no-such-voice")) {
                try engine.synthesize("Wait.", voice: Voice(name: "no-such-voice")) { _ in true }
            }
            #expect(throws: SpeechError.parameterOutOfRange(name: "rate", value: 20, range: 80...450)) {
                try engine.synthesize("Wait.", voice: Voice(name: "en-us", rate: 20)) { _ in true }
            }
        }

        @Test(
            "English and Mandarin to WAV: header, sample rate, duration and loudness",
            arguments: [
                (Language.english, "Wait. Car on your left, close. Crosswalk ahead.", 1.5...5.0),
                (Language.mandarin, "等待。左侧有汽车，很近。前方人行横道。", 2.0...7.0),
            ]
        )
        func speakToWAV(language: Language, text: String, seconds: ClosedRange<Double>) throws {
            let engine = try SharedEngine.get()
            let path = temporaryPath("\(language.rawValue).wav")
            defer { try? FileManager.default.removeItem(atPath: path) }
            let sink = try WAVFileSink(path: path)
            let report = try engine.speak(text, language: language, to: sink)
            try sink.close()

            let file = try WAVFile(path: path)
            #expect(file.tag(at: 0) == "RIFF")
            #expect(file.u32(at: 4) == file.bytes.count - 8)
            #expect(file.tag(at: 8) == "WAVE")
            #expect(file.tag(at: 12) == "fmt ")
            #expect(file.u32(at: 16) == 16)
            #expect(file.u16(at: 20) == 1)
            #expect(file.u16(at: 22) == 1)
            #expect(file.u32(at: 24) == 22_050)
            #expect(file.u32(at: 28) == 44_100)
            #expect(file.u16(at: 32) == 2)
            #expect(file.u16(at: 34) == 16)
            #expect(file.tag(at: 36) == "data")
            #expect(file.u32(at: 40) == file.bytes.count - 44)
            #expect(file.u32(at: 40) == report.samples * 2)

            let duration = Double(file.samples.count) / 22_050
            #expect(seconds.contains(duration), "\(language) lasted \(duration) s")
            #expect(file.rms > 500, "\(language) RMS \(file.rms)")
            #expect(report.completed)
        }

        @Test("A faster rate gives shorter audio; louder volume gives more energy")
        func rateAndVolume() throws {
            let engine = try SharedEngine.get()
            let text = "Signal flashing. Do not start crossing."
            func render(_ voice: Voice) throws -> [Int16] {
                let sink = MemorySink()
                try engine.speak(text, language: .english, voice: voice, to: sink)
                return sink.samples
            }
            let slow = try render(Voice(name: "en-us", rate: 120))
            let fast = try render(Voice(name: "en-us", rate: 300))
            #expect(Double(slow.count) > 1.8 * Double(fast.count))
            func energy(_ samples: [Int16]) -> Double { samples.reduce(0.0) { $0 + abs(Double($1)) } / Double(samples.count) }
            let quiet = try render(Voice(name: "en-us", volume: 40))
            let loud = try render(Voice(name: "en-us", volume: 160))
            #expect(energy(loud) > 2 * energy(quiet))
        }

        @Test("Stopping in the sample callback aborts synthesis and the sink discards")
        func stopMidUtterance() throws {
            let engine = try SharedEngine.get()
            let sink = MemorySink()
            var blocks = 0
            let report = try engine.speak(
                String(repeating: "Crosswalk ahead, slightly left. ", count: 20), language: .english, to: sink,
                shouldStop: {
                    blocks += 1
                    return blocks > 2
                }
            )
            #expect(!report.completed)
            #expect(sink.calls == ["begin 22050", "discard"])
            #expect(report.audioSeconds < 1)
            #expect(sink.samples.count == report.samples)
            #expect(report.samples > 0)
        }
    }
}
