import Foundation
import Imaging
import Kernels
import Pipeline
import Testing
import Vision

/// The two experts read together (`StreetModel.Stream.readExperts`, `ExpertReading`) give what
/// each gives alone on the shipped model and every sample frame (the light bit for bit); a frame
/// that fails throws and leaves the stream able to read the next.
@Suite("ExpertReading")
struct ExpertReadingTests {
    static func samples() throws -> [Image] {
        let folder = Programs.repository.appendingPathComponent("samples/images")
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".jpg") }.sorted()
        return try names.map { try Image.decode(file: folder.appendingPathComponent($0).path) }
    }

    @Test("Read together, the experts give the same decision, candidates and obstacles as read apart")
    func togetherEqualsApart() throws {
        let model = try ParityTests.model()
        #expect(model.signalExpert != nil && model.obstacleExpert != nil, "the shipped model has both experts")
        let together = StreetModel.Stream(model)
        let apart = StreetModel.Stream(model)
        let images = try Self.samples()
        #expect(images.count >= 10)
        // Twice over the samples: the shared counter and the proposal flag are reset per frame.
        for image in images + images {
            try together.readExperts(image)
            try apart.readSignal(image)
            try apart.readObstacles(image)
            let mine = try #require(together.signalDecision), theirs = try #require(apart.signalDecision)
            #expect(mine == theirs)
            let a = try #require(together.signal), b = try #require(apart.signal)
            #expect(a.candidates == b.candidates)
            let classes = model.signalExpert!.configuration.classes.count
            let read = a.candidates.count * classes
            #expect(Array(a.probabilities.storage[0..<read]) == Array(b.probabilities.storage[0..<read]))
            // Together, the obstacle expert runs on one lane; apart, split over the lanes, where a
            // lane's odd last row takes the kernels' one-row path and sums in another order. So
            // its probabilities agree to rounding, and its obstacles (kind, position, distance)
            // exactly, their confidences to rounding.
            let p = try #require(together.obstacles), q = try #require(apart.obstacles)
            let gap = zip(p.probabilities.storage, q.probabilities.storage).map { abs($0 - $1) }.max() ?? 0
            #expect(gap <= 1e-5)
            let expert = try #require(model.obstacleExpert)
            #expect(Self.same(expert.detections(p), expert.detections(q)))
            #expect(together.obstaclesRead)
        }
    }

    @Test("Two streams reading together on two threads (one of them finds the lanes busy) each get what reading apart gives")
    func twoStreamsAtOnce() throws {
        let model = try ParityTests.model()
        let images = try Self.samples()
        let apart = StreetModel.Stream(model)
        let expert = try #require(model.obstacleExpert)
        var expected: [SignalDecision?] = [], expectedObstacles: [[ObstacleDetection]] = []
        for image in images {
            try apart.readSignal(image)
            expected.append(apart.signalDecision)
            try apart.readObstacles(image)
            expectedObstacles.append(expert.detections(try #require(apart.obstacles)))
        }
        #expect(expectedObstacles.contains { !$0.isEmpty }, "some sample shows an obstacle the expert finds")
        let decisions = expected, obstacles = expectedObstacles
        let outcomes = Outcomes(count: 2)
        DispatchQueue.concurrentPerform(iterations: 2) { worker in
            let stream = StreetModel.Stream(model)
            var same = 0
            for _ in 0..<3 {
                for (n, image) in images.enumerated() {
                    guard (try? stream.readExperts(image)) != nil, let read = stream.obstacles else { continue }
                    if stream.signalDecision == decisions[n], Self.same(expert.detections(read), obstacles[n]) { same += 1 }
                }
            }
            outcomes.set(worker, same)
        }
        #expect(outcomes.values == [3 * images.count, 3 * images.count])
    }

    @Test("Read as one frame (readFrame: the scene beside the experts), a frame gives the three calls' light bit for bit, their obstacles and facts, and their heads to rounding")
    func readFrameEqualsThreeCalls() throws {
        let model = try ParityTests.model()
        let one = StreetModel.Stream(model)
        let three = StreetModel.Stream(model)
        let images = try Self.samples()
        // With two kernel lanes (this suite's machines) `readFrame` is one dispatch; with any
        // other count it is the three calls, and this checks only that it says so.
        for image in images + images {
            try one.readFrame(image)
            try three.preprocess(image)
            three.perceive()
            try three.readExperts(image)
            #expect(one.signalDecision == three.signalDecision)
            let a = try #require(one.signal), b = try #require(three.signal)
            #expect(a.candidates == b.candidates)
            let read = a.candidates.count * model.signalExpert!.configuration.classes.count
            #expect(Array(a.probabilities.storage[0..<read]) == Array(b.probabilities.storage[0..<read]))
            // The scene encoder runs on one thread in `readFrame`, split over the lanes in
            // `perceive`: the same sums but a lane's odd last row, so its heads agree to rounding.
            for (p, q) in zip(one.heads.probabilities, three.heads.probabilities) {
                let gap = zip(p.storage, q.storage).map { abs($0 - $1) }.max() ?? 0
                #expect(gap <= 1e-5)
            }
            let expert = try #require(model.obstacleExpert)
            #expect(Self.same(expert.detections(try #require(one.obstacles)), expert.detections(try #require(three.obstacles))))
            // readFrame's obstacle expert read the scene's tensor (the shipped expert's input is the
            // scene's), readExperts' its own squash of the frame: the same floats in, so the same
            // probabilities to the lanes' rounding.
            let p = try #require(one.obstacles), q = try #require(three.obstacles)
            #expect((zip(p.probabilities.storage, q.probabilities.storage).map { abs($0 - $1) }.max() ?? 1) <= 1e-5)
            let mine = FrameReading(one).facts(time: 0, configuration: model.configuration)
            let theirs = FrameReading(three).facts(time: 0, configuration: model.configuration)
            #expect(mine.light == theirs.light && mine.crosswalk?.present == theirs.crosswalk?.present
                    && mine.crosswalk?.offset == theirs.crosswalk?.offset)
            #expect(one.prepareCaptionMemory() && three.prepareCaptionMemory())
        }
    }

    @Test("The shipped obstacle expert's input is the scene's (size, squash and statistics): readFrame reads it once for both")
    func obstacleExpertSharesSceneInput() throws {
        let model = try ParityTests.model()
        let expert = try #require(model.obstacleExpert)
        #expect(expert.preprocessing == model.configuration.imagePreprocessing)
        let image = try Self.samples()[11]
        let stream = StreetModel.Stream(model)
        try stream.readFrame(image)
        let scene = try model.configuration.imagePreprocessing.tensor(from: image)
        let own = try expert.preprocessing.tensor(from: image)
        #expect(scene == own, "the two squashes give the same floats")
        let alone = ObstacleExpert.State(expert)
        own.withUnsafeBufferPointer { expert.read(input: $0, state: alone) }
        let read = try #require(stream.obstacles)
        #expect(Self.same(expert.detections(read), expert.detections(alone)))
        #expect(!expert.detections(read).isEmpty, "sample 11 shows obstacles the expert finds")
    }

    @Test("A frame readFrame cannot read throws, leaves no light, no obstacles and no caption memory, and the next frame reads")
    func readFrameFailureThenRecovery() throws {
        let model = try ParityTests.model()
        let stream = StreetModel.Stream(model)
        let image = try Self.samples()[0]
        try stream.readFrame(image)
        let gray = try Image(width: 320, height: 240, channels: 1, pixels: [UInt8](repeating: 90, count: 320 * 240))
        #expect(throws: ImagingError.self) { try stream.readFrame(gray) }
        #expect(stream.signalDecision == nil && !stream.obstaclesRead && !stream.captionMemoryReady)
        #expect(!stream.prepareCaptionMemory(), "nothing of the failed frame (or the one before) is captioned")
        try stream.readFrame(image)
        let apart = StreetModel.Stream(model)
        try apart.readSignal(image)
        #expect(stream.signalDecision == apart.signalDecision && stream.obstaclesRead)
    }

    /// The same obstacles: kind, position and distance exactly, the confidence to rounding. How
    /// the obstacle expert's rows are split over the lanes (all of them, or one when the other
    /// stream holds them) changes the order of its sums, so its probabilities differ in the last bits.
    static func same(_ a: [ObstacleDetection], _ b: [ObstacleDetection]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy {
            $0.kind == $1.kind && $0.position == $1.position && $0.distance == $1.distance && abs($0.confidence - $1.confidence) <= 1e-5
        }
    }

    /// Per-worker results written from `concurrentPerform`'s threads.
    final class Outcomes: @unchecked Sendable {
        private let lock = NSLock()
        private var storage: [Int]
        init(count: Int) { storage = Array(repeating: -1, count: count) }
        func set(_ index: Int, _ value: Int) { lock.withLock { storage[index] = value } }
        var values: [Int] { lock.withLock { storage } }
    }

    @Test("A frame the experts cannot read throws, and the next frame is read as usual")
    func failureThenRecovery() throws {
        let model = try ParityTests.model()
        let stream = StreetModel.Stream(model)
        // A gray frame: the obstacle expert's preprocessing wants the model's three channels.
        let gray = try Image(width: 320, height: 240, channels: 1, pixels: [UInt8](repeating: 90, count: 320 * 240))
        #expect(throws: ImagingError.self) { try stream.readExperts(gray) }
        #expect(!stream.obstaclesRead)
        #expect(stream.signalDecision == nil, "no decision is left standing from a frame that failed")
        let image = try Self.samples()[0]
        try stream.readExperts(image)
        let apart = StreetModel.Stream(model)
        try apart.readSignal(image)
        #expect(stream.signalDecision == apart.signalDecision)
        #expect(stream.obstaclesRead)
    }

    @Test("A new frame the signal expert has not read has an unknown light, never the last frame's")
    func unreadFrameLeavesNoLight() throws {
        let model = try ParityTests.model()
        let stream = StreetModel.Stream(model)
        let samples = try Self.samples()
        let red = try #require(samples.first { image in
            try stream.preprocess(image)
            stream.perceive()
            try stream.readExperts(image)
            return stream.signalDecision?.state == .red
        }, "a sample the expert reads as red")
        try stream.preprocess(red)
        #expect(stream.signalDecision == nil, "a new frame clears the last frame's decision")
        stream.perceive()
        let reading = FrameReading(stream)
        #expect(reading.signalUnread)
        let facts = reading.facts(time: 0, configuration: model.configuration)
        #expect(facts.light?.state == .unknown && facts.light?.kind == nil && facts.light?.position == nil)
        #expect(reading.perception(time: 0, configuration: model.configuration).light.state[.red] < 0.5)
        // (A fused model's caption waits for both experts' reads, so it cannot speak of this frame yet.)
        #expect(!stream.prepareCaptionMemory())
    }
}
