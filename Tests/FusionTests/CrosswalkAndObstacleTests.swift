import Fusion
import Testing
import Vision

@Suite("Crosswalk and obstacle tracking")
struct CrosswalkAndObstacleTests {
    private func frame(
        _ index: Int,
        crosswalk: CrosswalkEvidence = .absent,
        obstacles: [ObstacleDetection] = []
    ) -> Perception {
        Perception(
            time: Double(index) * 0.1,
            light: LightEvidence(state: .certain(.none)),
            crosswalk: crosswalk,
            obstacles: obstacles
        )
    }

    @Test("Crosswalk presence enters at 0.6 and leaves below 0.4 of its half-second average")
    func presenceHysteresis() {
        let presence = Array(repeating: 0.7, count: 6) + Array(repeating: 0.5, count: 6) + Array(repeating: 0.1, count: 6)
        var tracker = SceneTracker()
        let present = presence.enumerated().map { index, value in
            tracker.update(frame(index, crosswalk: CrosswalkEvidence(presence: value))).crosswalk?.present
        }
        // Frame 12 averages 0.433 (still present), frame 13 averages 0.367.
        #expect(present == Array(repeating: true, count: 13) + Array(repeating: false, count: 5))

        var undecided = SceneTracker()
        for index in 0..<10 {
            #expect(undecided.update(frame(index, crosswalk: CrosswalkEvidence(presence: 0.5))).crosswalk?.present == false)
        }
    }

    @Test("The offset moves only when another position leads by the margin; heading is the window mean")
    func offsetHysteresisAndHeading() {
        var tracker = SceneTracker()
        var offsets: [Position?] = []
        var headings: [Double?] = []
        for index in 0..<6 {
            let scene = tracker.update(
                frame(index, crosswalk: CrosswalkEvidence(presence: 0.9, offset: .certain(.ahead), headingDegrees: index.isMultiple(of: 2) ? -6 : -10))
            )
            offsets.append(scene.crosswalk?.offset)
            headings.append(scene.crosswalk?.headingDegrees)
        }
        // A slight lean to the left (0.54 against 0.46) is inside the margin: still ahead.
        for index in 6..<16 {
            let scene = tracker.update(
                frame(index, crosswalk: CrosswalkEvidence(presence: 0.9, offset: PositionProbabilities(left: 0.54, ahead: 0.46), headingDegrees: -8))
            )
            offsets.append(scene.crosswalk?.offset)
        }
        // A clear left (0.7) moves it once the average lead reaches 0.15: not at its first frame
        // (lead 0.13), at its second (lead 0.19).
        for index in 16..<20 {
            let scene = tracker.update(
                frame(index, crosswalk: CrosswalkEvidence(presence: 0.9, offset: PositionProbabilities(left: 0.7, ahead: 0.3), headingDegrees: -8))
            )
            offsets.append(scene.crosswalk?.offset)
        }
        #expect(headings[5] == -8)
        #expect(offsets[..<17].allSatisfy { $0 == .ahead })
        #expect(offsets[17...].allSatisfy { $0 == .left })
    }

    @Test("An obstacle is reported from its second detection and dropped 0.5 s after its last")
    func obstacleConfirmationAndExpiry() {
        let bicycle = ObstacleDetection(kind: "bicycle", position: .right, distance: .mid, confidence: 0.8)
        var tracker = SceneTracker()
        #expect(tracker.update(frame(0, obstacles: [bicycle])).obstacles.isEmpty)
        let seen = tracker.update(frame(1, obstacles: [bicycle])).obstacles
        #expect(seen == [SceneFacts.Obstacle(kind: "bicycle", position: .right, distance: .mid, confidence: 0.8)])
        var reported: [Bool] = []
        for index in 2...8 {
            reported.append(!tracker.update(frame(index)).obstacles.isEmpty)
        }
        // Last seen at t = 0.1: still held at t = 0.6 (frame 6), gone at t = 0.7.
        #expect(reported == [true, true, true, true, true, false, false])
    }

    @Test("A confident near obstacle straight ahead is reported on its first frame")
    func immediateDanger() {
        var tracker = SceneTracker()
        let pole = ObstacleDetection(kind: "pole", position: .ahead, distance: .near, confidence: 0.95)
        #expect(tracker.update(frame(0, obstacles: [pole])).obstacles.map(\.kind) == ["pole"])
        var other = SceneTracker()
        let sidePole = ObstacleDetection(kind: "pole", position: .left, distance: .near, confidence: 0.95)
        #expect(other.update(frame(0, obstacles: [sidePole])).obstacles.isEmpty)
    }

    @Test("Obstacles: nearest distance in the window, weak detections ignored, nearest and ahead first")
    func obstacleSmoothingAndOrder() {
        var tracker = SceneTracker()
        let frames: [[ObstacleDetection]] = [
            [
                ObstacleDetection(kind: "car", position: .left, distance: .far, confidence: 0.7),
                ObstacleDetection(kind: "person", position: .ahead, distance: .mid, confidence: 0.9),
                ObstacleDetection(kind: "cone", position: .right, distance: .near, confidence: 0.3),
            ],
            [
                ObstacleDetection(kind: "car", position: .left, distance: .near, confidence: 0.9),
                ObstacleDetection(kind: "person", position: .ahead, distance: .mid, confidence: 0.7),
                ObstacleDetection(kind: "cone", position: .right, distance: .near, confidence: 0.3),
            ],
            [
                ObstacleDetection(kind: "car", position: .left, distance: .far, confidence: 0.8),
                ObstacleDetection(kind: "person", position: .ahead, distance: .mid, confidence: 0.8),
            ],
        ]
        var last: [SceneFacts.Obstacle] = []
        for (index, detections) in frames.enumerated() {
            last = tracker.update(frame(index, obstacles: detections)).obstacles
        }
        #expect(last.map(\.kind) == ["car", "person"])
        #expect(last.map(\.distance) == [.near, .mid])
        #expect(abs(last[0].confidence - 0.8) < 1e-9)
    }
}
