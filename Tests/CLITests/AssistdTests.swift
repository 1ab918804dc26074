import Foundation
import Imaging
import Kernels
import Synchronization
import Testing

@Suite("assistd", .serialized)
struct AssistdTests {
    static func folder() throws -> URL {
        try DescribeTests.temporaryFolder()
    }

    /// A 3 s loop at 10 fps: a red pedestrian light, then a green one (sample scenes).
    static func walkVideo(in folder: URL, name: String = "camera.avi") throws -> String {
        let red = try Image.decode(file: "samples/images/00_pedestrian_red_street.jpg".inRepository)
        let green = try Image.decode(file: "samples/images/01_pedestrian_green_street.jpg".inRepository)
            .resized(width: red.width, height: red.height)
        let path = folder.appendingPathComponent(name).path
        let writer = try VideoWriter(path: path, codec: "MJPG", fps: 10, width: red.width, height: red.height)
        for frame in 0..<30 { try writer.write(frame < 20 ? red : green) }
        writer.close()
        return path
    }

    @Test("--help teaches the sources, the API and gives examples")
    func help() throws {
        let run = try Programs.run("assistd", ["--help"])
        #expect(run.status == 0)
        for expected in ["--source", "/dev/video", "--loop", "--config", "/status", "/events", "Examples:", "SIGTERM", "SIGHUP"] {
            #expect(run.output.contains(expected), "help lacks \(expected)")
        }
    }

    @Test("Bad options and bad config files are refused with the file, the key and the reason, exit 2")
    func validation() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        func config(_ text: String) throws -> String {
            let path = folder.appendingPathComponent("\(UUID().uuidString).yaml").path
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        let typo = try config("camera:\n  sorce: 0\n")
        let wrongType = try config("camera:\n  rate: fast\n")
        let broken = try config("camera: [unclosed\n")
        let slowRetry = try config("camera:\n  max_backoff: 600\n")
        let cases: [([String], String)] = [
            (["--rate", "0"], "camera.rate must be between 2 and 120"),
            (["--rate", "1"], "camera.rate must be between 2 and 120"),
            (["--width", "3000000000"], "camera.width/height must be between 0 (the camera's own) and 16384 pixels"),
            (["--http", "0.0.0.0:8377"], "0.0.0.0 is not a loopback address"),
            (["--lang", "fr"], "narration.language must be en or zh"),
            (["--speech", "loud"], "speech.output must be alsa, none, pcm or wav:PATH"),
            (["--config", "/nonexistent/assistd.yaml"], "/nonexistent/assistd.yaml: no such file"),
            (["--config", typo], "\(typo): unknown key 'camera.sorce'"),
            (["--config", wrongType], "\(wrongType): camera.rate must be a number"),
            (["--config", broken], "\(broken): not valid YAML"),
            (["--config", slowRetry], "camera.max_backoff must be between 0.1 and 60 seconds"),
        ]
        for (arguments, message) in cases {
            let run = try Programs.run("assistd", arguments + ["--check-config"])
            #expect(run.status == 2, "\(arguments)")
            #expect(run.errors.contains(message), "\(arguments): \(run.errors)")
        }
        let good = try config("camera:\n  source: walk.mp4\n  rate: 4\nnarration:\n  language: zh\n")
        let run = try Programs.run("assistd", ["--config", good, "--rate", "6", "--check-config"])
        #expect(run.status == 0, "\(run.errors)")
        #expect(run.output.contains("source: \"walk.mp4\"") && run.output.contains("rate: 6.0") && run.output.contains("language: zh"))
    }

    @Test("A missing or broken model folder stops start-up with the file named, exit 3")
    func badModel() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let broken = folder.appendingPathComponent("model")
        try FileManager.default.createDirectory(at: broken, withIntermediateDirectories: true)
        try Data("{}".utf8).write(to: broken.appendingPathComponent("config.json"))
        try Data().write(to: broken.appendingPathComponent("tokenizer.json"))
        try Data().write(to: broken.appendingPathComponent("model.safetensors"))
        for (model, message) in [(folder.appendingPathComponent("absent").path, "not a model folder"), (broken.path, "config.json")] {
            let run = try Programs.run("assistd", ["--model", model, "--speech", "none", "--http", "127.0.0.1:0"])
            #expect(run.status == 3)
            #expect(run.errors.contains("cannot start") && run.errors.contains(model) && run.errors.contains(message), "\(run.errors)")
        }
    }

    @Test("deploy/assistd.yaml documents exactly the defaults")
    func documentedDefaults() throws {
        let documented = try Programs.run("assistd", ["--config", "deploy/assistd.yaml", "--check-config"])
        let defaults = try Programs.run("assistd", ["--check-config"])
        #expect(documented.status == 0 && defaults.status == 0, "\(documented.errors)")
        #expect(documented.output == defaults.output)
    }

    @Test("Waits for a missing camera, reports it, and exits 0 within a second of SIGTERM")
    func sigtermWhileWaitingForCamera() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let daemon = try RunningDaemon(["--source", "/dev/video93"], folder: folder)
        let status = try daemon.wait { ($0["camera"] as? [String: Any])?["state"] as? String == "lost" }
        #expect(status["state"] as? String == "camera_lost")
        let (code, seconds) = daemon.terminate()
        #expect(code == 0)
        #expect(seconds < 1.0)
    }

    @Test("On a video as its camera: status, facts, events and every command over the API; SIGTERM exits 0 within 1 s")
    func apiOnAVideo() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let video = try Self.walkVideo(in: folder)
        let socket = folder.appendingPathComponent("api.sock").path
        let daemon = try RunningDaemon(["--source", video, "--loop", "--rate", "5", "--socket", socket], folder: folder)

        let status = try daemon.wait { ($0["frames_analysed"] as? Int ?? 0) >= 3 }
        #expect(status["state"] as? String == "running")
        #expect((status["camera"] as? [String: Any])?["state"] as? String == "running")
        #expect((status["fps"] as? Double ?? 0) > 0)
        let latency = try #require(status["latency_ms"] as? [String: [String: Double]])
        for stage in ["read", "caption", "narrate", "total"] {
            #expect((latency[stage]?["p50"] ?? 0) > 0, "no latency for \(stage)")
        }
        #expect((status["info"] as? [String: Any])?["model_parameters"] as? Int ?? 0 > 1_000_000)
        let engine = (status["info"] as? [String: Any])?["engine"] as? [String: Any]
        #expect(engine?["kernel"] as? String == GEMMKernel.selected.rawValue)
        #expect(engine?["openblas_mismatch"] as? Bool == BLASCore.current.isMismatch)

        let facts = try #require(try daemon.api.get("/facts").json)
        #expect(facts["stale"] as? Bool == false)
        let sceneFacts = try #require(facts["facts"] as? [String: Any])
        for key in ["time", "light", "crosswalk", "obstacles"] { #expect(sceneFacts[key] != nil, "facts lack \(key)") }

        let events = try daemon.api.events(for: 1.5)
        #expect(events.filter { $0.name == "facts" }.count >= 4)
        for event in events where event.name == "facts" {
            // The description never states a walk signal the tracker has not confirmed.
            let json = try #require(try JSONSerialization.jsonObject(with: Data(event.data.utf8)) as? [String: Any])
            let description = (json["facts"] as? [String: Any])?["description"] as? String ?? ""
            if description.contains("Walk") { #expect(json["light_status"] as? String == "green") }
        }

        let paused = try #require(try daemon.api.post("/pause").json)
        #expect((paused["status"] as? [String: Any])?["state"] as? String == "paused")
        let analysed = try daemon.wait { $0["state"] as? String == "paused" }["frames_analysed"] as? Int ?? 0
        Thread.sleep(forTimeInterval: 0.6)
        #expect(try daemon.api.get("/status").json?["frames_analysed"] as? Int == analysed, "analysis went on while paused")
        // The last scene from before the pause is old now: served as stale, with no light.
        let pausedFacts = try #require(try daemon.api.get("/facts").json)
        #expect(pausedFacts["stale"] as? Bool == true)
        #expect((pausedFacts["facts"] as? [String: Any])?["light"] == nil)
        let resumed = try #require(try daemon.api.post("/resume").json)
        #expect((resumed["status"] as? [String: Any])?["state"] as? String == "running")

        for (path, key, value) in [("/mode/walking", "mode", "walking"), ("/verbosity/verbose", "verbosity", "verbose"), ("/language/zh", "language", "zh")] {
            let reply = try daemon.api.post(path)
            #expect(reply.status == 200, "\(path): \(reply.body)")
            let narration = (reply.json?["status"] as? [String: Any])?["narration"] as? [String: Any]
            #expect(narration?[key] as? String == value, "\(path)")
        }
        #expect(try daemon.api.post("/mode/jogging").status == 400)
        _ = try daemon.wait { ($0["frames_analysed"] as? Int ?? 0) > analysed + 2 }
        let listened = Mutex<[(name: String, data: String)]>([])
        let listener = Thread { [api = daemon.api!] in
            let events = (try? api.events(for: 2.5)) ?? []
            listened.withLock { $0 = events }
        }
        listener.start()
        Thread.sleep(forTimeInterval: 0.4)
        let described = try #require(try daemon.api.post("/describe").json?["said"] as? [[String: Any]])
        #expect(!described.isEmpty && described.allSatisfy { $0["language"] as? String == "zh" })
        Thread.sleep(forTimeInterval: 2.4)
        let heard = listened.withLock { $0 }
        let text = try #require(described.first?["text"] as? String)
        #expect(heard.contains { $0.name == "utterance" && $0.data.contains(text) }, "no utterance event for the description")
        #expect(heard.contains { $0.name == "speech" && $0.data.contains("\"started\"") && $0.data.contains(text) })
        #expect(heard.contains { $0.name == "speech" && $0.data.contains("\"finished\"") && $0.data.contains(text) })
        let repeated = try #require(try daemon.api.post("/repeat").json?["said"] as? [[String: Any]])
        #expect(repeated.count == 1)

        let metrics = try daemon.api.get("/metrics")
        #expect(metrics.status == 200)
        for name in ["assistd_frames_analysed_total", "assistd_camera_up", "assistd_stage_seconds", "assistd_utterances_total"] {
            #expect(metrics.body.contains(name), "metrics lack \(name)")
        }
        // A 10 fps video analysed at 5 fps: about every other frame is dropped, never queued.
        let dropped = metrics.body.firstMatch(of: /assistd_frames_dropped_total (\d+)/).flatMap { Int($0.1) } ?? 0
        #expect(dropped > 0)

        var info = stat()
        #expect(lstat(socket, &info) == 0 && info.st_mode & 0o777 == 0o600, "socket mode \(String(info.st_mode & 0o777, radix: 8))")
        let overSocket = try LocalHTTP(endpoint: .socket(socket)).get("/status")
        #expect(overSocket.status == 200 && overSocket.json?["state"] as? String == "running")

        let (code, seconds) = daemon.terminate()
        #expect(code == 0)
        #expect(seconds < 1.0, "took \(seconds) s")
        #expect(daemon.logText.contains("Ready."))
    }

    @Test("The camera source vanishes mid-run and comes back: loss reported, nothing stale said, recovery without restart")
    func cameraLossAndRecovery() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let video = try Self.walkVideo(in: folder)
        let hidden = video + ".away"
        let daemon = try RunningDaemon(["--source", video, "--loop", "--rate", "5", "--max-backoff", "0.5"], folder: folder)
        _ = try daemon.wait { ($0["frames_analysed"] as? Int ?? 0) >= 3 }

        try FileManager.default.moveItem(atPath: video, toPath: hidden)
        let lost = try daemon.wait { ($0["camera"] as? [String: Any])?["state"] as? String == "lost" }
        #expect(lost["state"] as? String == "camera_lost")
        // Within the tracker's freshness limit the scene goes stale: no light, no facts.
        let stale = try daemon.wait(for: "/facts", seconds: 3) { $0["stale"] as? Bool == true }
        #expect((stale["facts"] as? [String: Any])?["light"] == nil)
        let whileLost = try daemon.api.events(for: 1.2)
        let said = whileLost.filter { $0.name == "utterance" }.map(\.data)
        #expect(!said.contains { $0.contains("Wait") || $0.contains("Walk") || $0.contains("Signal") }, "light spoken while the camera was lost: \(said)")
        #expect(daemon.logText.contains("Camera lost."))

        try FileManager.default.moveItem(atPath: hidden, toPath: video)
        let back = try daemon.wait { ($0["camera"] as? [String: Any])?["state"] as? String == "running" }
        #expect((back["camera"] as? [String: Any])?["losses"] as? Int == 1)
        _ = try daemon.wait(for: "/facts") { $0["stale"] as? Bool == false && (($0["facts"] as? [String: Any])?["light"] != nil) }
        let (code, seconds) = daemon.terminate()
        #expect(code == 0 && seconds < 1.0)
    }

    @Test("SIGHUP reloads the config file: the narration changes it made apply at once, the API's choices stay, a bad file is refused")
    func reloadOnSIGHUP() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let config = folder.appendingPathComponent("assistd.yaml").path
        try "narration:\n  language: en\n  verbosity: normal\n".write(toFile: config, atomically: true, encoding: .utf8)
        let daemon = try RunningDaemon(["--config", config, "--source", Programs.fixture(""), "--loop", "--rate", "5"], folder: folder)
        try "narration:\n  language: zh\n  verbosity: minimal\n".write(toFile: config, atomically: true, encoding: .utf8)
        kill(daemon.process.processIdentifier, SIGHUP)
        let reloaded = try daemon.wait { ($0["narration"] as? [String: Any])?["language"] as? String == "zh" }
        #expect((reloaded["narration"] as? [String: Any])?["verbosity"] as? String == "minimal")
        try "narration:\n  language: klingon\n".write(toFile: config, atomically: true, encoding: .utf8)
        kill(daemon.process.processIdentifier, SIGHUP)
        Thread.sleep(forTimeInterval: 0.5)
        #expect(daemon.logText.contains("reload refused"))
        #expect(try daemon.api.get("/status").json.flatMap { ($0["narration"] as? [String: Any])?["language"] as? String } == "zh")

        // The API's choice stands through a reload that does not touch it; the file's change applies.
        #expect(try daemon.socket.post("/language/en").status == 200)
        try "narration:\n  language: zh\n  verbosity: verbose\nlog:\n  level: debug\n".write(toFile: config, atomically: true, encoding: .utf8)
        kill(daemon.process.processIdentifier, SIGHUP)
        let edited = try daemon.wait { ($0["narration"] as? [String: Any])?["verbosity"] as? String == "verbose" }
        #expect((edited["narration"] as? [String: Any])?["language"] as? String == "en", "\(edited["narration"] ?? "")")
        #expect(daemon.logText.contains("needs_restart=log"), "\(daemon.logText)")
        #expect(daemon.terminate().status == 0)
    }

    @Test("Analyses a folder of frames and stops at --max-frames, exit 0")
    func maxFrames() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let daemon = try RunningDaemon(["--source", "samples/images", "--rate", "20", "--max-frames", "3"], folder: folder)
        daemon.process.waitUntilExit()
        #expect(daemon.process.terminationStatus == 0, "\(daemon.logText)")
        #expect(daemon.logText.contains("frames_analysed=3"))
    }
}
