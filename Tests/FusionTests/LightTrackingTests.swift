import Foundation
import Fusion
import TestSupport
import Testing
import Vision

/// The light rules of `SceneTracker` on scripted 10 fps sequences, with the exact status after
/// every frame where the sequence is short enough to state it.
@Suite("Light tracking")
struct LightTrackingTests {
    @Test("Isolated and paired green frames at 0.99 inside red leave the light red on every frame")
    func isolatedGreenFramesInsideRed() {
        var script = Script()
        script.add(.red, count: 10)
        script.add(.green, confidence: 0.99)
        script.add(.red, count: 12)
        script.add(.green, confidence: 0.99, count: 2)
        script.add(.red, count: 25)
        let statuses = script.statuses()
        #expect(statuses.count == 50)
        #expect(statuses.allSatisfy { $0 == .red })
    }

    @Test("A burst of four confident green frames inside red reads 'changing' once, never green")
    func burstOfGreenInsideRed() {
        var script = Script()
        script.add(.red, count: 20)
        script.add(.green, confidence: 0.99, count: 4)
        script.add(.red, count: 16)
        let statuses = script.statuses()
        let expected: [LightStatus?] = Array(repeating: .red, count: 23) + [.changing] + Array(repeating: .red, count: 16)
        #expect(statuses == expected)
        #expect(onsets(of: .green, in: statuses).isEmpty)
    }

    @Test("A walk that ends in frames nothing is sure of reads 'changing' for 3 s, then 'unclear', and stays so")
    func changingThatNeverResolvesBecomesUnclear() {
        var script = Script()
        script.add(.red, count: 10)
        script.add(.green, confidence: 0.97, count: 20)
        script.add(.green, confidence: 0.3, count: 60)
        let statuses = script.statuses()
        #expect(statuses[29] == .green)
        // Frame 30 (t = 3.0 s) is the first unsure one: "changing" from there until t = 6.0 s.
        #expect(statuses[30..<60].allSatisfy { $0 == .changing })
        #expect(statuses[60...].allSatisfy { $0 == .unclear })
    }

    @Test("Frames without colour read 'no colour' once the whole window shows none, and leave it only when half of it shows colour")
    func noColourNeedsTheWindow() {
        var script = Script()
        script.add(.red, count: 10)
        script.addColourless(count: 40)
        script.add(.none, confidence: 0.3)
        script.addColourless(count: 10)
        script.add(.none, confidence: 0.3, count: 4)
        script.addColourless(count: 30)
        let statuses = script.statuses()
        // The held red fades under flat frames, then no colour; never "none", never green.
        #expect(statuses[0..<10].allSatisfy { $0 == .red })
        let firstNoColour = statuses.firstIndex(of: .noColour)!
        #expect(statuses[10..<firstNoColour].allSatisfy { $0 == .red || $0 == .unclear })
        #expect(statuses[49] == .noColour)
        // One stray coloured frame does not make the camera's trouble the street's.
        #expect(statuses[50..<61].allSatisfy { $0 == .noColour })
        // Four coloured, unsure frames in a row do: the camera sees colour.
        #expect(statuses[64] == .unclear)
        #expect(statuses.last == .noColour)
        #expect(onsets(of: .noColour, in: statuses).count == 2 && onsets(of: .unclear, in: Array(statuses[40...])).count == 1)
        #expect(!statuses.contains(.green) && !statuses.contains(.none))
        #expect(LightStatus.noColour.factsState == .unknown)
    }

    @Test("Red and green alternating every frame stays red: flicker is not a change")
    func redGreenFlicker() {
        var script = Script()
        for _ in 0..<30 {
            script.add(.red)
            script.add(.green)
        }
        #expect(script.statuses().allSatisfy { $0 == .red })
    }

    @Test(
        "A real red→green change is confirmed on the pinned frame",
        arguments: [
            // Defaults: 5 frames and 0.8 s; at 10 fps the duration binds: frame 28 (t = 2.8 s).
            (SceneTrackerConfig(), 28),
            // 12 frames: the frame count binds: frames 20…31.
            (SceneTrackerConfig(greenConfirmFrames: 12), 31),
            // 3 frames and 0.2 s are met at frame 22, but the averaged green (0.49) is not yet
            // 0.6; it is at frame 23.
            (SceneTrackerConfig(greenConfirmFrames: 3, greenConfirmDuration: 0.2), 23),
        ]
    )
    func redToGreenConfirmation(config: SceneTrackerConfig, confirmedAt frame: Int) {
        var script = Script()
        script.add(.red, count: 20)
        script.add(.green, confidence: 0.97, count: 20)
        let statuses = script.statuses(config: config)
        #expect(onsets(of: .green, in: statuses) == [frame])
        #expect(statuses[frame...].allSatisfy { $0 == .green })
        #expect(!statuses[..<frame].contains(.green))
    }

    @Test("Defaults: red until frame 22, 'changing' from 23, walk from 28, 0.8 s after the first green frame")
    func redToGreenExactSequence() {
        var script = Script()
        script.add(.red, count: 20)
        script.add(.green, confidence: 0.97, count: 20)
        let statuses = script.statuses()
        let expected: [LightStatus?] = Array(repeating: .red, count: 23)
            + Array(repeating: .changing, count: 5)
            + Array(repeating: .green, count: 12)
        #expect(statuses == expected)
        #expect(abs(script.time(ofFrame: 28) - script.time(ofFrame: 20) - 0.8) < 1e-9)
    }

    @Test("A stall makes the scene stale with no light, and tracking restarts from scratch")
    func stallMakesSceneStale() throws {
        var script = Script()
        script.add(.red, count: 10)
        script.add(.green, count: 30)  // frames 10…39, confirmed at 18
        script.skip(10)  // nothing from t = 4.0 to 4.9
        script.add(.green, count: 10)  // frames 50…59
        var tracker = SceneTracker()
        for frame in script.frames[..<40] {
            tracker.update(frame)
        }
        let fresh = tracker.scene(at: 4.4)
        #expect(!fresh.isStale)
        #expect(fresh.light?.status == .green)

        let stale = tracker.scene(at: 4.41)
        #expect(stale.isStale)
        #expect(stale.light == nil)
        #expect(stale.crosswalk == nil)
        #expect(stale.obstacles.isEmpty)
        #expect(stale.facts.light == nil)

        // A pipeline that falls behind is the same as a stall: the newest frame is too old.
        #expect(tracker.scene(at: 9.0).light == nil)

        var resumed: [LightStatus?] = []
        for frame in script.frames[40...] {
            resumed.append(tracker.update(frame).light?.status)
        }
        // Frame 50 restarts the run: green again only at frame 58, 0.8 s later.
        let expected: [LightStatus?] = Array(repeating: .changing, count: 8) + [.green, .green]
        #expect(resumed == expected)
    }

    @Test("A scene asked for before any frame is stale")
    func noFramesIsStale() {
        let scene = SceneTracker().scene(at: 0)
        #expect(scene.isStale)
        #expect(scene.light == nil)
        #expect(scene.frameTime == nil)
    }

    @Test("Green→flashing: green withdrawn on the first dark frame, flashing from the third alternation")
    func greenToFlashing() {
        var script = Script()
        script.add(.red, count: 10)
        script.add(.green, count: 20)  // frames 10…29, confirmed at 18
        for _ in 0..<5 {
            script.add(.off, count: 3)
            script.add(.green, count: 3)
        }  // frames 30…59
        script.add(.red, count: 5)  // frames 60…64
        let statuses = script.statuses()
        #expect(onsets(of: .green, in: statuses) == [18])
        #expect(statuses[18...29].allSatisfy { $0 == .green })
        #expect(statuses[30...35].allSatisfy { $0 == .changing })
        #expect(statuses[36...59].allSatisfy { $0 == .flashing })
        #expect(statuses[60...].allSatisfy { $0 == .red })
    }

    @Test("Green→red: the first confident red frame is red")
    func greenToRed() {
        var script = Script()
        script.add(.red, count: 10)
        script.add(.green, count: 20)
        script.add(.red, count: 10)
        let statuses = script.statuses()
        #expect(statuses[29] == .green)
        #expect(statuses[30...].allSatisfy { $0 == .red })
    }

    @Test("An uncertain frame inside a confirmed green keeps green (hysteresis), a contrary one does not")
    func greenHysteresis() {
        var script = Script()
        script.add(.green, count: 10)  // confirmed at 8
        // Green 0.6, the rest spread: below the 0.85 needed to confirm, above the 0.5 to keep.
        script.add(.green, confidence: 0.6)
        script.add(.green, count: 3)
        script.add(.yellow, confidence: 0.7)
        let statuses = script.statuses()
        #expect(onsets(of: .green, in: statuses) == [8])
        #expect(statuses[8...13].allSatisfy { $0 == .green })
        #expect(statuses[14] == .changing)
    }

    @Test("Sequences whose truth is never green announce green zero times", arguments: 0..<4)
    func truthNeverGreen(seed: UInt64) {
        var random = SplitMix64(seed: seed &* 7919 &+ 17)
        let config = SceneTrackerConfig()
        var announcements = 0
        var framesSeen = 0
        var misclassified = 0
        for _ in 0..<50 {
            var tracker = SceneTracker(config: config)
            var time = 0.0
            var previous: LightStatus?
            var truth = FrameLightClass.red
            var burstLeft = 0
            var mustBeTrue = false
            for _ in 0..<400 {
                if Int.random(in: 0..<40, using: &random) == 0 {
                    truth = [.red, .yellow, .none, .off].randomElement(using: &random)!
                }
                if burstLeft == 0, !mustBeTrue, Int.random(in: 0..<12, using: &random) == 0 {
                    // Up to one frame fewer than confirmation needs, at high confidence.
                    burstLeft = Int.random(in: 1..<config.greenConfirmFrames, using: &random)
                }
                let state: LightStateProbabilities
                if burstLeft > 0 {
                    state = .certain(.green, confidence: Double.random(in: 0.85...0.999, using: &random))
                    burstLeft -= 1
                    mustBeTrue = burstLeft == 0
                    misclassified += 1
                } else {
                    state = .certain(truth, confidence: Double.random(in: 0.45...0.99, using: &random))
                    mustBeTrue = false
                }
                time += Double.random(in: 0.06...0.14, using: &random)
                let status = tracker.update(
                    Perception(time: time, light: LightEvidence(state: state), crosswalk: .absent)
                ).light?.status
                if status == .green, previous != .green {
                    announcements += 1
                }
                previous = status
                framesSeen += 1
            }
        }
        #expect(framesSeen == 20_000)
        #expect(misclassified > 1_000)
        #expect(announcements == 0)
    }

    @Test("Frames not newer than the newest, or with no valid time, are dropped and counted")
    func outOfOrderFrames() {
        var tracker = SceneTracker()
        tracker.update(Perception(time: 1.0, light: LightEvidence(state: .certain(.red)), crosswalk: .absent))
        let scene = tracker.update(Perception(time: 0.9, light: LightEvidence(state: .certain(.green)), crosswalk: .absent))
        #expect(tracker.outOfOrderFrames == 1)
        #expect(scene.light?.status == .red)
        #expect(scene.frameTime == 1.0)
        tracker.update(Perception(time: .nan, light: LightEvidence(state: .certain(.green)), crosswalk: .absent))
        #expect(tracker.outOfOrderFrames == 2)
        #expect(tracker.scene(at: 1.0).frameTime == 1.0)
    }

    @Test("Scene facts: 'changing' reads unknown, kind and position come through, JSON keeps the contract's names")
    func factsMapping() throws {
        var tracker = SceneTracker()
        let scene = tracker.update(
            Perception(
                time: 12.4,
                light: LightEvidence(state: .certain(.green, confidence: 0.97), pedestrianProbability: 0.2, position: .left),
                crosswalk: CrosswalkEvidence(presence: 0.9, offset: .certain(.left), headingDegrees: -8)
            )
        )
        let facts = scene.facts
        #expect(facts.light?.state == .unknown)
        #expect(facts.light?.kind == .vehicle)
        #expect(facts.light?.position == .left)
        #expect(facts.crosswalk == SceneFacts.Crosswalk(present: true, offset: .left, headingDegrees: -8, confidence: 0.9))
        let json = String(decoding: try JSONEncoder().encode(facts), as: UTF8.self)
        #expect(json.contains("\"heading_deg\":-8"))
        #expect(json.contains("\"state\":\"unknown\""))
    }

    @Test("No signal has no kind or place; a frame without a lamp neither moves a held red nor places an unclear light")
    func kindAndPlaceOnlyFromLamps() throws {
        let flat = LightStateProbabilities(none: 0.2, red: 0.2, green: 0.2, yellow: 0.2, off: 0.2)
        var tracker = SceneTracker()
        var scene = tracker.update(Perception(time: 0, light: LightEvidence(state: .certain(.none, confidence: 0.99), position: nil), crosswalk: .absent))
        #expect(scene.light?.status == LightStatus.none)
        #expect(scene.facts.light?.kind == nil && scene.facts.light?.position == nil)
        let json = String(decoding: try JSONEncoder().encode(scene.facts), as: UTF8.self)
        #expect(!json.contains("\"kind\"") && !json.contains("\"position\""), "\(json)")

        // A red lamp on the left, vehicle; then one frame the expert found no lamp on (no colour).
        tracker = SceneTracker()
        for n in 0..<5 {
            scene = tracker.update(
                Perception(time: Double(n) * 0.1, light: LightEvidence(state: .certain(.red, confidence: 0.97), pedestrianProbability: 0, position: .left), crosswalk: .absent))
        }
        scene = tracker.update(Perception(time: 0.5, light: LightEvidence(state: flat, position: nil), crosswalk: .absent))
        #expect(scene.light?.status == .red)
        #expect(scene.light?.position == .left && scene.light?.kind == .vehicle)

        // Only frames without a lamp: unclear, placed nowhere, worded as a pedestrian signal's.
        tracker = SceneTracker()
        for n in 0..<20 { scene = tracker.update(Perception(time: Double(n) * 0.1, light: LightEvidence(state: flat, position: nil), crosswalk: .absent)) }
        #expect(scene.light?.status == .unclear)
        #expect(scene.light?.kind == nil && scene.light?.position == nil && scene.light?.spokenKind == .pedestrian)
        #expect(scene.facts.light?.state == .unknown && scene.facts.light?.position == nil)
    }
}

@Suite("Scene tracker: a cut in the video")
struct TrackerRestartTests {
    @Test("After restart() a green must be confirmed again: the first green frame of the next clip is not green")
    func greenConfirmedAgainAfterRestart() {
        var script = Script()
        script.add(.green, confidence: 0.99, count: 30)
        var tracker = SceneTracker(config: SceneTrackerConfig())
        let held = script.frames.map { tracker.update($0).light?.status }
        #expect(held.last == .green)
        tracker.restart()
        var next = Script()
        next.add(.green, confidence: 0.99, count: 31)
        // The next clip continues the clock (one frame interval on), with the same green.
        let after = tracker.update(next.frames[30])
        #expect(after.light?.status != .green)
        #expect(!after.isStale)
        // More green frames of the next clip confirm it again.
        var again = Script()
        again.add(.green, confidence: 0.99, count: 61)
        let confirmed = again.frames[31...].map { tracker.update($0).light?.status }
        #expect(confirmed.last == .green)
    }
}
