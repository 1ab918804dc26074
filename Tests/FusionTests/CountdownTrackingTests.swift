import Fusion
import Testing
import Vision

/// The seconds a countdown shows reach the tracked light only from the newest frame, and only
/// beside a lamp read in the state the tracker holds (issue 12, point 3; safety rule 2).
@Suite("Countdown tracking")
struct CountdownTrackingTests {
    /// A frame certain of `state`, with a countdown read beside a lamp in `countdownState`.
    private func frame(_ index: Int, _ state: FrameLightClass, seconds: Int?, beside countdownState: LightState) -> Perception {
        Perception(
            time: Double(index) / 10,
            light: LightEvidence(
                state: .certain(state, confidence: 0.95),
                countdown: seconds.map { LightEvidence.Countdown(state: countdownState, seconds: $0) }),
            crosswalk: .absent, obstacles: [])
    }

    @Test("A red held by the tracker carries the newest frame's seconds, and none once a frame reads none")
    func redCarriesTheNewestSeconds() {
        var tracker = SceneTracker()
        var last: TrackedScene?
        for i in 0..<20 { last = tracker.update(frame(i, .red, seconds: 40 - i / 10, beside: .red)) }
        #expect(last?.light?.status == .red)
        #expect(last?.light?.secondsLeft == 39)
        #expect(last?.facts.light?.secondsLeft == 39)
        let unread = tracker.update(frame(20, .red, seconds: nil, beside: .red))
        #expect(unread.light?.status == .red)
        #expect(unread.light?.secondsLeft == nil, "a countdown is never carried over from an older frame")
    }

    @Test("Seconds read beside a green lamp are not said while the tracker has not confirmed green")
    func greenSecondsWaitForConfirmation() {
        var tracker = SceneTracker()
        for i in 0..<20 { _ = tracker.update(frame(i, .red, seconds: nil, beside: .red)) }
        let first = tracker.update(frame(20, .green, seconds: 15, beside: .green))
        #expect(first.light?.status != .green)
        #expect(first.light?.secondsLeft == nil)
        var last: TrackedScene?
        for i in 21..<60 { last = tracker.update(frame(i, .green, seconds: 15, beside: .green)) }
        #expect(last?.light?.status == .green)
        #expect(last?.light?.secondsLeft == 15)
    }

    @Test("Seconds read beside a lamp in another state than the one the tracker holds are not said")
    func otherStateSecondsAreNotSaid() {
        var tracker = SceneTracker()
        var last: TrackedScene?
        // The frames read red, but the countdown was read beside a green lamp (a second head).
        for i in 0..<20 { last = tracker.update(frame(i, .red, seconds: 12, beside: .green)) }
        #expect(last?.light?.status == .red)
        #expect(last?.light?.secondsLeft == nil)
    }
}
