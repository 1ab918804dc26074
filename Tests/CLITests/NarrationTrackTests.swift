import Imaging
@testable import listen
import Narrator
import Testing

/// `listen describe --wav` on a video writes a narration track that plays alongside it: what an
/// interrupting utterance cuts off on the device is cut off in the track too, so a walk withdrawn
/// is heard at its moment of the video, not after the sentences before it.
@Suite("listen: the narration track of a video")
struct NarrationTrackTests {
    static func utterance(_ text: String, _ priority: UtterancePriority, topic: UtteranceTopic, interrupts: Bool = false) -> Utterance {
        Utterance(message: .description(text), text: text, language: .english, priority: priority, topic: topic, interrupts: interrupts)
    }

    static let wait = utterance("Wait.", .danger, topic: .light, interrupts: true)

    @Test("A withdrawal cuts off, at its moment, what is still playing and less urgent; the cut ones are unheard")
    func withdrawalCutsOff() {
        var track = NarrationTrack()
        let crosswalk = Self.utterance("Crosswalk ahead.", .guidance, topic: .crosswalk)
        let description = Self.utterance("A long description.", .info, topic: .description)
        track.append(crosswalk, from: 0, to: 1.2)
        track.append(description, from: 1.2, to: 9)
        // At 0.5 s both are still to play: cut from 0.5, both unheard.
        let early = track.cut(for: [Self.wait], at: 0.5)
        #expect(early?.at == 0.5 && early?.unheard == [crosswalk, description])
        // At 3 s the crosswalk was heard; the description is cut at 3 s.
        let later = track.cut(for: [Self.wait], at: 3)
        #expect(later?.at == 3 && later?.unheard == [description])
        track.cutOff(at: 3)
        #expect(track.spoken.map(\.utterance) == [crosswalk])
        // After the track's end, or without an interrupting utterance, nothing is cut.
        #expect(track.cut(for: [Self.wait], at: 10) == nil)
        #expect(track.cut(for: [Self.utterance("Wait.", .signal, topic: .light)], at: 0.5) == nil)
    }

    @Test("An utterance queued to start after the moment is cut whole, from its start")
    func queuedBehindIsCutWhole() {
        var track = NarrationTrack()
        let description = Self.utterance("A description.", .info, topic: .description)
        track.append(description, from: 4, to: 6)
        let cut = track.cut(for: [Self.wait], at: 2)
        #expect(cut?.at == 4 && cut?.unheard == [description])
    }

    @Test("A danger warning playing is not cut, but the walk laid after it is: the withdrawal follows the warning")
    func walkAfterAWarningIsCut() {
        var track = NarrationTrack()
        let person = Self.utterance("Person ahead, close.", .danger, topic: .obstacle(kind: "person", position: .ahead), interrupts: true)
        let walk = Self.utterance("Walk signal on.", .signal, topic: .light)
        track.append(person, from: 0, to: 1.5)
        track.append(walk, from: 1.5, to: 2.5)
        let changing = Self.utterance("Signal changing.", .danger, topic: .light, interrupts: true)
        let cut = track.cut(for: [changing], at: 0.5)
        #expect(cut?.at == 1.5 && cut?.unheard == [walk])
        // An interrupting utterance that is not the first of its moment still cuts.
        let repeated = Self.utterance("Car on your left, close.", .danger, topic: .obstacle(kind: "car", position: .left))
        #expect(track.cut(for: [repeated, changing], at: 0.5)?.unheard == [walk])
    }

    @Test("An equally urgent warning on another topic is never cut: the withdrawal follows it")
    func equallyUrgentIsKept() {
        var track = NarrationTrack()
        track.append(Self.utterance("Car ahead, close.", .danger, topic: .obstacle(kind: "car", position: .ahead), interrupts: true), from: 0, to: 1.5)
        #expect(track.cut(for: [Self.wait], at: 0.5) == nil)
        // A withdrawal does cut an earlier light utterance of its own topic.
        var light = NarrationTrack()
        light.append(Self.utterance("Signal changing.", .danger, topic: .light, interrupts: true), from: 0, to: 1.5)
        #expect(light.cut(for: [Self.wait], at: 0.5)?.at == 0.5)
    }
}

@Suite("listen: a cut in a video's clock")
struct VideoCutTests {
    static func frame(at timestamp: Double) throws -> Frame {
        Frame(image: try Image(width: 2, height: 2, color: RGB(0, 0, 0)), timestamp: timestamp, index: 0)
    }

    @Test("Back by more than a second, or ahead by more than a minute, is a cut; a repeat, a wobble or a missing timestamp is not")
    func cuts() throws {
        #expect(!VideoNarration.isCut(try Self.frame(at: 5), after: nil), "the first frame")
        #expect(!VideoNarration.isCut(try Self.frame(at: 5.1), after: 5))
        #expect(!VideoNarration.isCut(try Self.frame(at: 5), after: 5), "a repeated timestamp")
        #expect(!VideoNarration.isCut(try Self.frame(at: 0), after: 0), "a container without timestamps reads 0 throughout")
        #expect(!VideoNarration.isCut(try Self.frame(at: 4.6), after: 5), "a variable-rate video's wobble")
        #expect(!VideoNarration.isCut(try Self.frame(at: .nan), after: 5), "a missing timestamp")
        #expect(VideoNarration.isCut(try Self.frame(at: 0), after: 5), "the next clip starts at 0")
        #expect(VideoNarration.isCut(try Self.frame(at: 5 + 61), after: 5))
        #expect(!VideoNarration.isCut(try Self.frame(at: 5 + 59), after: 5), "a long gap, not a cut: the tracker sees it")
    }
}
