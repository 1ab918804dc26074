import Foundation
import Imaging
import Testing

extension AssistdTests {
    /// Safety rule 5 in the running daemon: no facts event, and no spoken description, carries a
    /// crossing or an obstacle that its facts deny. Issue 15 found 546 of 2,497 facts events doing so
    /// on a looping video of the samples, and POST /describe speaking it; `CaptionGuard` in the
    /// tracker closed that, and this counts it again the way it was found.
    ///
    /// Nested in `AssistdTests`, whose tests run one at a time: this one keeps a daemon busy for
    /// most of a minute, which would starve the timing checks of a daemon test running beside it.
    @Suite("assistd: captions the facts back")
    struct DaemonCaptionTruthTests {
        /// Every sample image, letterboxed into one 480×480 frame (small enough for the daemon to
        /// analyse several a second on a busy machine) and held for `framesEach` frames at 10 fps, so
        /// the tracker sees each scene settle and then change.
        static func samplesVideo(in folder: URL, framesEach: Int = 6) throws -> (path: String, scenes: Int) {
            let samples = "samples/images".inRepository
            let names = try FileManager.default.contentsOfDirectory(atPath: samples).filter { $0.hasSuffix(".jpg") }.sorted()
            let path = folder.appendingPathComponent("samples.avi").path
            let writer = try VideoWriter(path: path, codec: "MJPG", fps: 10, width: 480, height: 480)
            for name in names {
                let frame = try Image.decode(file: "\(samples)/\(name)").letterboxed(width: 480, height: 480).image
                for _ in 0..<framesEach { try writer.write(frame) }
            }
            writer.close()
            return (path, names.count)
        }

        @Test("The counter flags a hand-made contradictory event and passes a consistent one")
        func counterCanFail() {
            func event(_ description: String, crosswalk: String?, obstacles: String = "[]") -> String {
                let crossing = crosswalk.map { #"{"present": true, "offset": "\#($0)"}"# } ?? #"{"present": false}"#
                return #"{"facts": {"crosswalk": \#(crossing), "obstacles": \#(obstacles), "description": "\#(description)"}, "stale": false}"#
            }
            let car = #"[{"kind": "car", "position": "right", "distance": "near"}]"#
            #expect(CaptionContradictions.denied(inEvent: event("Red light. Crosswalk ahead, slightly right.", crosswalk: nil))
                == ["Crosswalk ahead, slightly right."])
            #expect(CaptionContradictions.denied(inEvent: event("Crosswalk ahead, slightly left.", crosswalk: "right")).count == 1)
            #expect(CaptionContradictions.denied(inEvent: event("Bicycle on your left.", crosswalk: nil, obstacles: car)).count == 1)
            #expect(CaptionContradictions.denied(inEvent: event("Car on your right.", crosswalk: nil, obstacles: car)).count == 1, "distance")
            #expect(CaptionContradictions.denied(inEvent: event("红灯。前方人行横道，略偏右。左侧有汽车，很近。", crosswalk: nil, obstacles: car)).count == 2)
            #expect(CaptionContradictions.denied(inEvent: event("Wait. Crosswalk ahead, slightly right. Car on your right, close.", crosswalk: "right", obstacles: car)).isEmpty)
            #expect(CaptionContradictions.denied(inEvent: event("前方人行横道。右侧有汽车，很近。", crosswalk: "ahead", obstacles: car)).isEmpty)
        }

        @Test("On a looping video of the samples: no facts event's description contradicts its facts, nor does /describe")
        func noContradictionsInTheDaemon() throws {
            let folder = try AssistdTests.folder()
            defer { try? FileManager.default.removeItem(at: folder) }
            let video = try Self.samplesVideo(in: folder)
            let wav = folder.appendingPathComponent("speech.wav").path
            let daemon = try RunningDaemon(["--source", video.path, "--loop", "--rate", "15", "--speech", "wav:\(wav)"], folder: folder)
            _ = try daemon.wait(seconds: 30) { ($0["frames_analysed"] as? Int ?? 0) >= 1 }

            // Enough events to see every sample scene more than once: at least 100 facts events.
            var checked = 0, described = 0
            var denied: [String] = []
            let deadline = Date().addingTimeInterval(55)
            while checked < 120, Date() < deadline {
                for event in try daemon.api.events(for: 8) where event.name == "facts" {
                    checked += 1
                    if event.data.contains("\"description\"") { described += 1 }
                    denied += CaptionContradictions.denied(inEvent: event.data).map { "\($0) in \(event.data)" }
                }
            }
            print("daemon on the samples video: \(checked) facts events, \(described) with a description, \(denied.count) contradictions")
            #expect(checked >= 100, "only \(checked) facts events in 55 s")
            // A busy machine analyses late frames, whose scenes are stale and carry no description.
            #expect(described >= 20, "too few descriptions to check: \(described) of \(checked)")
            #expect(denied.isEmpty, "\(denied.prefix(5))")

            // What "describe now" speaks is held to the facts of the moment it was asked (the
            // scene may change between the two reads around it; one of them must back it).
            let before = try #require(try daemon.api.get("/facts").json?["facts"] as? [String: Any])
            let said = try #require(try daemon.api.post("/describe").json?["said"] as? [[String: Any]])
            let after = try #require(try daemon.api.get("/facts").json?["facts"] as? [String: Any])
            let text = said.compactMap { $0["text"] as? String }.joined(separator: " ")
            #expect(!text.isEmpty)
            let deniedBefore = CaptionContradictions.denied(in: text, facts: .init(json: before))
            let deniedAfter = CaptionContradictions.denied(in: text, facts: .init(json: after))
            #expect(deniedBefore.isEmpty || deniedAfter.isEmpty, "describe said \"\(text)\"; facts \(before) / \(after)")

            #expect(daemon.terminate().status == 0)
            let speech = try FileManager.default.attributesOfItem(atPath: wav)[.size] as? Int ?? 0
            #expect(speech > 44, "nothing was spoken to \(wav)")
        }
    }
}
