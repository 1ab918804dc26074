import Fusion
import Narrator
import Synchronization
import Testing

private func utterance(_ text: String, _ priority: UtterancePriority, interrupts: Bool = false, language: Language = .english) -> Utterance {
    Utterance(message: .description(text), text: text, language: language, priority: priority, topic: .description, interrupts: interrupts)
}

/// An event reduced to what the tests compare: what happened, to which text.
private func summary(_ event: SpeechEvent) -> String {
    switch event {
    case let .started(utterance): "started \(utterance.text)"
    case let .finished(utterance, _): "finished \(utterance.text)"
    case let .interrupted(utterance): "interrupted \(utterance.text)"
    case let .dropped(utterance): "dropped \(utterance.text)"
    case let .overflowed(utterance): "overflowed \(utterance.text)"
    case let .failed(utterance, error): "failed \(utterance.text): \(error)"
    case let .missingPinyin(utterance, characters): "missing \(String(characters)) in \(utterance.text)"
    }
}

/// Every event still to come, summarised, until the queue's stream ends (after `close()`).
private func remaining(_ events: inout AsyncStream<SpeechEvent>.Iterator) async -> [String] {
    var seen: [String] = []
    while let event = await events.next() {
        seen.append(summary(event))
    }
    return seen
}

/// A long utterance: many blocks of samples, so that an interruption lands inside it.
private let longText = String(repeating: "Bicycle on your right, far. ", count: 12).trimmingSuffixSpace

extension String {
    fileprivate var trimmingSuffixSpace: String { hasSuffix(" ") ? String(dropLast()) : self }
}

/// A queue (with `revise`) whose sink is held while it speaks `longText` at `priority`: what a
/// test queues next certainly waits behind it, however loaded the machine. Open the sink to go on.
private func queueSpeakingLongText(
    _ priority: UtterancePriority, revise: @escaping @Sendable (Utterance) -> Utterance? = { $0 }
) async throws -> (sink: MemorySink, queue: SpeechQueue, events: AsyncStream<SpeechEvent>.Iterator) {
    let sink = MemorySink(gated: true)
    let queue = SpeechQueue(engine: try SharedEngine.get(), sink: sink, revise: revise)
    var events = queue.events.makeAsyncIterator()
    queue.enqueue(utterance(longText, priority))
    #expect(await events.next().map(summary) == "started \(longText)")
    return (sink, queue, events)
}

extension EngineSuite {
    @Suite("Speech queue")
    struct SpeechQueueTests {
        @Test("Queued utterances are spoken by priority once the current one ends")
        func priorityOrder() async throws {
            let (sink, queue, started) = try await queueSpeakingLongText(.guidance)
            var events = started
            queue.enqueue(utterance("Tree ahead, far.", .info))
            queue.enqueue(utterance("Wait.", .signal))
            queue.enqueue(utterance("Pole ahead, close.", .danger))
            queue.close()
            sink.open()
            let seen = await remaining(&events)
            #expect(seen == [
                "finished \(longText)",
                "started Pole ahead, close.", "finished Pole ahead, close.",
                "started Wait.", "finished Wait.",
                "started Tree ahead, far.", "finished Tree ahead, far.",
            ])
            #expect(sink.calls.filter { $0 == "end" }.count == 4)
        }

        @Test("A backlog is bounded: past the capacity the oldest of the least urgent is dropped, never a more urgent one")
        func boundedBacklog() async throws {
            let (sink, queue, started) = try await queueSpeakingLongText(.info)
            var events = started
            queue.enqueue(utterance("Wait.", .signal))
            let descriptions = (1...SpeechQueue.capacity).map { "Description \($0)." }
            queue.enqueue(descriptions.map { utterance($0, .info) })
            queue.close()
            sink.open()
            let seen = await remaining(&events)
            #expect(seen.first == "overflowed Description 1.", "the oldest description makes room")
            #expect(seen.filter { $0.hasPrefix("dropped") || $0.hasPrefix("overflowed") } == ["overflowed Description 1."])
            #expect(seen.contains("finished Wait.") && seen.contains("finished Description \(SpeechQueue.capacity)."))
        }

        @Test("What no longer holds when its turn comes is dropped; what holds reworded is spoken as it holds now")
        func revisedAtItsTurn() async throws {
            let (sink, queue, started) = try await queueSpeakingLongText(.info) { queued in
                switch queued.text {
                case "Gone.": nil
                case "Walk signal on, 12 seconds.":
                    Utterance(message: queued.message, text: "Walk signal on, 8 seconds.", language: queued.language,
                              priority: queued.priority, topic: queued.topic, interrupts: queued.interrupts, secondsLeft: 8)
                default: queued
                }
            }
            var events = started
            queue.enqueue([utterance("Gone.", .guidance), utterance("Walk signal on, 12 seconds.", .signal)])
            queue.close()
            sink.open()
            let seen = await remaining(&events)
            #expect(seen == [
                "finished \(longText)",
                "started Walk signal on, 8 seconds.", "finished Walk signal on, 8 seconds.",
                "dropped Gone.",
            ])
        }

        @Test("An interrupting utterance cuts the current one short and drops what it makes out of date")
        func interruption() async throws {
            let (sink, queue, started) = try await queueSpeakingLongText(.info)
            var events = started
            queue.enqueue(utterance("Crosswalk ahead.", .guidance))
            queue.enqueue(utterance("Camera blocked.", .danger, interrupts: true))
            queue.close()
            sink.open()
            let seen = await remaining(&events)
            #expect(seen == [
                "dropped Crosswalk ahead.",
                "interrupted \(longText)",
                "started Camera blocked.", "finished Camera blocked.",
            ])
            #expect(sink.calls == ["begin 22050", "discard", "begin 22050", "end"])
        }

        @Test("A walk withdrawn and a person close ahead in one batch are both heard: neither drops the other")
        func equallyUrgentTopicsInOneBatch() async throws {
            let (sink, queue, started) = try await queueSpeakingLongText(.info)
            var events = started
            let wait = Utterance(message: .description("Wait."), text: "Wait.", language: .english, priority: .danger, topic: .light, interrupts: true)
            let person = Utterance(
                message: .description("Person ahead, close."), text: "Person ahead, close.", language: .english, priority: .danger,
                topic: .obstacle(kind: "person", position: .ahead), interrupts: true)
            queue.enqueue([wait, person])
            queue.close()
            sink.open()
            let seen = await remaining(&events)
            #expect(seen == [
                "interrupted \(longText)",
                "started Wait.", "finished Wait.",
                "started Person ahead, close.", "finished Person ahead, close.",
            ])
        }

        @Test("A danger on another topic lets the walk's withdrawal finish and follows it; one on the same topic cuts it short")
        func equallyUrgentTopicWhileSpeaking() async throws {
            for (topic, expected) in [
                (UtteranceTopic.obstacle(kind: "car", position: .ahead), ["finished \(longText)", "started Car ahead, close.", "finished Car ahead, close."]),
                (UtteranceTopic.light, ["interrupted \(longText)", "started Car ahead, close.", "finished Car ahead, close."]),
            ] {
                let sink = MemorySink(gated: true)
                let queue = SpeechQueue(engine: try SharedEngine.get(), sink: sink)
                var events = queue.events.makeAsyncIterator()
                // A long withdrawal, so that a cut would land inside it.
                queue.enqueue(Utterance(message: .description(longText), text: longText, language: .english, priority: .danger, topic: .light, interrupts: true))
                #expect(await events.next().map(summary) == "started \(longText)")
                queue.enqueue(Utterance(
                    message: .description("Car ahead, close."), text: "Car ahead, close.", language: .english, priority: .danger,
                    topic: topic, interrupts: true))
                queue.close()
                sink.open()
                let seen = await remaining(&events)
                #expect(seen == expected, "\(topic)")
            }
        }

        @Test("interrupt() silences the current utterance and empties the queue")
        func interruptAll() async throws {
            let (sink, queue, started) = try await queueSpeakingLongText(.info)
            var events = started
            queue.enqueue(utterance("Wait.", .signal))
            queue.interrupt()
            queue.close()
            sink.open()
            let seen = await remaining(&events)
            #expect(seen == ["dropped Wait.", "interrupted \(longText)"])
        }

        @Test("Mandarin is spoken through pinyin; characters without a reading are reported, still spoken")
        func mandarinInQueue() async throws {
            let sink = MemorySink()
            let queue = SpeechQueue(engine: try SharedEngine.get(), sink: sink)
            queue.enqueue(utterance("前方有狗。", .guidance, language: .mandarin))
            queue.close()
            var events = queue.events.makeAsyncIterator()
            let seen = await remaining(&events)
            #expect(seen == ["missing 狗 in 前方有狗。", "started 前方有狗。", "finished 前方有狗。"])
            #expect(sink.samples.count > 22_050 / 2)
        }

        @Test("A sound device that vanishes and comes back: the failures are reported, then speech resumes without a restart")
        func deviceComesBack() async throws {
            /// A device absent for the first two opens, then present; its first write fails as
            /// an unplugged device's does.
            final class FlakyDevice: Sendable {
                let opens = Mutex(0)
                let device = MemorySink()
                func open() throws(AudioSinkError) -> any AudioSink {
                    let attempt = opens.withLock { count -> Int in
                        count += 1
                        return count
                    }
                    guard attempt > 2 else { throw .noSoundDevice(device: "usb", reason: "No such device") }
                    return attempt == 3 ? FailingSink() : device
                }
            }
            final class FailingSink: AudioSink {
                func begin(format: PCMFormat) throws(AudioSinkError) {}
                func write(_ samples: UnsafeBufferPointer<Int16>) throws(AudioSinkError) {
                    throw .deviceFailed(device: "usb", reason: "No such device")
                }
                func end() throws(AudioSinkError) {}
                func discard() {}
            }
            let flaky = FlakyDevice()
            let sink = ReopeningSink { () throws(AudioSinkError) -> any AudioSink in try flaky.open() }
            #expect(sink.openNow() != nil, "absent at start")
            let queue = SpeechQueue(engine: try SharedEngine.get(), sink: sink)
            queue.enqueue([utterance("Wait.", .signal), utterance("Crosswalk ahead.", .guidance), utterance("Pole ahead.", .info)])
            queue.close()
            var events = queue.events.makeAsyncIterator()
            let seen = await remaining(&events)
            let absent = AudioSinkError.noSoundDevice(device: "usb", reason: "No such device")
            let unplugged = AudioSinkError.deviceFailed(device: "usb", reason: "No such device")
            #expect(seen == [
                "started Wait.", "failed Wait.: \(SpeechError.sink(absent))",
                "started Crosswalk ahead.", "failed Crosswalk ahead.: \(SpeechError.sink(unplugged))",
                "started Pole ahead.", "finished Pole ahead.",
            ])
            #expect(sink.openCount == 2 && flaky.opens.withLock { $0 } == 4)
            #expect(flaky.device.calls == ["begin 22050", "end"])
        }

        @Test("A sink failure is reported on the utterance and the queue goes on")
        func sinkFailure() async throws {
            let path = temporaryPath("closed.wav")
            let sink = try WAVFileSink(path: path)
            try sink.close()
            let queue = SpeechQueue(engine: try SharedEngine.get(), sink: sink)
            queue.enqueue([utterance("Wait.", .signal), utterance("Crosswalk ahead.", .guidance)])
            queue.close()
            var events = queue.events.makeAsyncIterator()
            let seen = await remaining(&events)
            #expect(seen == [
                "started Wait.", "failed Wait.: The audio sink was already closed.",
                "started Crosswalk ahead.", "failed Crosswalk ahead.: The audio sink was already closed.",
            ])
        }
    }
}
