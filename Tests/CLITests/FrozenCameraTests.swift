@testable import assistd
import Foundation
import Imaging
import Logging
import Narrator
import Prometheus
import Testing

/// A live camera never repeats a picture; one that does (a stuck driver, a capture dongle that
/// lost its input) must not pass its copies off as a fresh view of the street (safety rule 2).
@Suite("assistd: a camera that delivers the same picture over and over")
struct FrozenCameraTests {
    /// A 96×64 grey picture with a white 16×16 square whose place depends on `mark`.
    static func picture(mark: Int) throws -> Image {
        var pixels = [UInt8](repeating: 110, count: 96 * 64 * 3)
        let left = (mark * 16) % 96, top = ((mark / 6) * 16) % 64
        for y in top..<top + 16 {
            for x in left..<left + 16 {
                for channel in 0..<3 { pixels[(y * 96 + x) * 3 + channel] = 255 }
            }
        }
        return try Image(width: 96, height: 64, pixels: pixels)
    }

    @Test("The fingerprint tells one changed byte or another shape from a repeat")
    func fingerprint() throws {
        let image = try Self.picture(mark: 0)
        var bytes = image.pixels
        bytes[bytes.count - 1] ^= 1
        let changed = try Image(width: 96, height: 64, pixels: bytes)
        let reshaped = try Image(width: 64, height: 96, pixels: image.pixels)
        var watch = FrozenPictureWatch()
        #expect(watch.unchangedFor(at: 5) == 0, "nothing seen yet")
        #expect(watch.date(image, receivedAt: 1) == 1)
        #expect(watch.date(image, receivedAt: 1.5) == 1, "a repeat keeps the time the picture first came")
        #expect(watch.unchangedFor(at: 2) == 1)
        #expect(watch.date(changed, receivedAt: 2) == 2, "the last byte changed")
        #expect(watch.date(image, receivedAt: 3) == 3)
        #expect(watch.date(reshaped, receivedAt: 4) == 4, "same bytes, another shape")
    }

    /// Runs a camera feed on `video` as if it were a live camera for `seconds`; returns the camera
    /// state and how old the newest frame is by its capture time.
    static func liveFeed(on video: String, seconds: Double, reopenAfter: Double = 5) -> (camera: CameraState, age: Double?, reopens: Int) {
        let state = DaemonState(narration: NarrationConfig())
        let feed = CameraFeed(
            settings: .init(source: video, rate: 10, capture: CaptureSettings(), loop: true, maxBackoff: 0.5, frozenAfter: 0.5,
                            reopenFrozenAfter: reopenAfter),
            state: state, hub: EventHub(), metrics: DaemonMetrics(registry: PrometheusCollectorRegistry()),
            logger: Logger(label: "test.camera"))
        feed.start()
        Thread.sleep(forTimeInterval: seconds)
        let result = (state.read().camera, feed.newest().map { state.now - $0.capturedAt }, state.read().cameraReopens)
        feed.stop()
        while feed.isRunning { Thread.sleep(forTimeInterval: 0.02) }
        return result
    }

    @Test("Live frames that repeat one picture age like missing ones and the camera reads frozen; changing ones stay fresh")
    func frozenFeed() throws {
        let folder = try AssistdTests.folder()
        func video(_ name: String, marks: (Int) -> Int) throws -> String {
            let path = folder.appendingPathComponent(name).path
            let writer = try VideoWriter(path: path, codec: "MJPG", fps: 20, width: 96, height: 64)
            for frame in 0..<40 { try writer.write(try Self.picture(mark: marks(frame))) }
            writer.close()
            return path
        }
        let still = Self.liveFeed(on: try video("still.avi") { _ in 3 }, seconds: 1.5)
        #expect(still.camera == .frozen)
        #expect((still.age ?? 0) > 1, "its frames keep the time the picture first came: \(String(describing: still.age))")
        let moving = Self.liveFeed(on: try video("moving.avi") { $0 }, seconds: 1.5)
        #expect(moving.camera == .running)
        #expect((moving.age ?? 1) < 0.5, "\(String(describing: moving.age))")
        #expect(still.reopens == 0 && moving.reopens == 0, "under 5 s: not reopened yet")
        // Frozen past the reopen limit: closed and opened again (with the backoff), and the
        // picture it shows again is still dated to when it first came.
        let stuck = Self.liveFeed(on: try video("stuck.avi") { _ in 3 }, seconds: 2.5, reopenAfter: 0.8)
        #expect(stuck.reopens >= 1 && stuck.camera == .frozen)
        #expect((stuck.age ?? 0) > 2, "\(String(describing: stuck.age))")
    }
}
