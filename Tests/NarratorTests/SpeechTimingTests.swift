import Foundation
import Narrator
import Synchronization
import Testing

/// Notes when the first sample arrives; counts the rest.
private final class TimingSink: AudioSink {
    private let state = Mutex<(first: ContinuousClock.Instant?, samples: Int)>((nil, 0))

    var firstSample: ContinuousClock.Instant? { state.withLock { $0.first } }

    func begin(format: PCMFormat) throws(AudioSinkError) {}

    func write(_ samples: UnsafeBufferPointer<Int16>) throws(AudioSinkError) {
        state.withLock { state in
            if state.first == nil { state.first = .now }
            state.samples += samples.count
        }
    }

    func end() throws(AudioSinkError) {}
    func discard() {}
}

private func milliseconds(_ duration: Duration) -> Double { Double(duration.components.attoseconds) * 1e-15 + Double(duration.components.seconds) * 1e3 }

private func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

extension EngineSuite {
    /// Prints the speech figures for the closing note; asserts only that the audio was produced.
    /// Wall times on a shared machine are noisy, so none is asserted.
    @Suite("Speech timing")
    struct SpeechTimingTests {
        @Test(
            "Text to first audio sample and real-time factor (printed)",
            arguments: [
                (Language.english, "Wait. Car on your left, close. Crosswalk ahead."),
                (Language.mandarin, "等待。左侧有汽车，很近。前方人行横道。"),
                (Language.english, "Walk signal on."),
                (Language.mandarin, "步行信号亮。"),
            ]
        )
        func timing(language: Language, text: String) throws {
            let engine = try SharedEngine.get()
            var latencies: [Double] = []
            var factors: [Double] = []
            var audio = 0.0
            // Each run switches voice first, as a narration alternating languages would not, but a
            // shared engine running other tests might: the figures include loading the voice.
            for _ in 0..<7 {
                let sink = TimingSink()
                let start = ContinuousClock.now
                let report = try engine.speak(text, language: language, to: sink)
                let end = ContinuousClock.now
                #expect(report.completed)
                #expect(report.samples > 0)
                latencies.append(milliseconds(try #require(sink.firstSample) - start))
                factors.append(milliseconds(end - start) / 1000 / report.audioSeconds)
                audio = report.audioSeconds
            }
            print(String(
                format: "speech-timing lang=%@ audio=%.2fs first-sample median=%.2fms (min %.2f, max %.2f) rtf median=%.4f (min %.4f) text=\"%@\"",
                language.rawValue, audio, median(latencies), latencies.min()!, latencies.max()!, median(factors), factors.min()!, text
            ))
        }
    }
}
