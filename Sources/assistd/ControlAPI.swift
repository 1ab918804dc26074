import Foundation
import Hummingbird
import Narrator
import Pipeline

/// The local control and status API: status, facts, a live event stream, metrics and commands.
/// Served on loopback HTTP and/or a Unix domain socket (mode 0600), never on a public interface
/// unless the configuration says so.
struct ControlAPI: Sendable {
    let state: DaemonState
    let hub: EventHub
    let worker: NarrationWorker
    let metrics: DaemonMetrics
    /// The tracker's freshness limit: older facts are served as stale.
    let maxFrameAge: Double
    let info: StaticInfo

    /// What does not change while the daemon runs.
    struct StaticInfo: Sendable, Encodable {
        var model: String
        var modelParameters: Int?
        var source: String
        var rate: Double
        var speech: String
        var version = "1"

        enum CodingKeys: String, CodingKey {
            case model, source, rate, speech, version
            case modelParameters = "model_parameters"
        }
    }

    static let help = """
        assistd local API
          GET  /status              state, fps, per-stage latency, camera, model, narration
          GET  /facts               the tracked scene facts (DESIGN.md schema) and whether they are stale
          GET  /events              server-sent events: facts, utterance, speech, camera
          GET  /metrics             Prometheus text format
          POST /pause  /resume      stop and restart narration (pause also stops speech at once)
          POST /mode/{crossing|walking|describe}
          POST /verbosity/{minimal|normal|verbose}
          POST /language/{en|zh}
          POST /describe            say the full description now
          POST /repeat              say the last thing again (or what holds now, if it changed)

        """

    func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/") { _, _ in Self.text(Self.help) }
        router.get("status") { _, _ in try Self.json(status()) }
        router.get("facts") { _, _ in
            let snapshot = state.read()
            guard let scene = snapshot.scene else {
                return try Self.json(Problem(error: "no scene yet: the first frame has not been analysed"), status: .serviceUnavailable)
            }
            let moment = StreetNarrator.Moment(scene: scene, utterances: [])
            return try Self.json(FactsEvent(moment, language: snapshot.narration.language, now: state.now, maxAge: maxFrameAge))
        }
        router.get("metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: metrics.registry.emitToBuffer())))
        }
        router.get("events") { _, _ in
            let events = hub.subscribe()
            return Response(
                status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
                body: ResponseBody { writer in
                    try await writer.write(ByteBuffer(string: ": assistd events\n\n"))
                    for await event in events {
                        try await writer.write(ByteBuffer(string: "event: \(event.name)\ndata: \(event.json)\n\n"))
                    }
                    try await writer.finish(nil)
                })
        }
        router.post("pause") { _, _ in try await command(.pause) }
        router.post("resume") { _, _ in try await command(.resume) }
        router.post("describe") { _, _ in try await command(.describeNow) }
        router.post("repeat") { _, _ in try await command(.repeatLast) }
        router.post("mode/:value") { _, context in
            let value = try context.parameters.require("value")
            guard let mode = NarrationMode(rawValue: value) else {
                return try Self.problem("mode must be crossing, walking or describe, not '\(value)'")
            }
            return try await command(.mode(mode))
        }
        router.post("verbosity/:value") { _, context in
            let value = try context.parameters.require("value")
            guard let verbosity = Verbosity(name: value) else {
                return try Self.problem("verbosity must be minimal, normal or verbose, not '\(value)'")
            }
            return try await command(.verbosity(verbosity))
        }
        router.post("language/:value") { _, context in
            let value = try context.parameters.require("value")
            guard let language = Language(rawValue: value) else {
                return try Self.problem("language must be en or zh, not '\(value)'")
            }
            return try await command(.language(language))
        }
        return router
    }

    private func command(_ command: DaemonCommand) async throws -> Response {
        let said = await worker.perform(command)
        let now = state.now
        return try Self.json(CommandReply(ok: true, status: try status(), said: said.map { UtteranceEvent($0, time: now) }))
    }

    struct CommandReply: Encodable {
        var ok: Bool
        var status: Status
        var said: [UtteranceEvent]
    }

    struct Status: Encodable {
        var state: String
        var uptime: Double
        var fps: Double
        var framesAnalysed: Int
        var framesCaptured: Int
        var framesDropped: Int
        var lastFrameAge: Double?
        var latencyMs: [String: [String: Double]]
        var camera: Camera
        var narration: Narration
        var lastSaid: String?
        var info: StaticInfo

        struct Camera: Encodable {
            var state: String
            var detail: String?
            var lostFor: Double?
            var losses: Int

            enum CodingKeys: String, CodingKey {
                case state, detail, losses
                case lostFor = "lost_for_s"
            }
        }

        struct Narration: Encodable {
            var language: String
            var mode: String
            var verbosity: String
        }

        enum CodingKeys: String, CodingKey {
            case state, fps, camera, narration, info
            case uptime = "uptime_s"
            case framesAnalysed = "frames_analysed"
            case framesCaptured = "frames_captured"
            case framesDropped = "frames_dropped"
            case lastFrameAge = "last_frame_age_s"
            case latencyMs = "latency_ms"
            case lastSaid = "last_said"
        }
    }

    func status() throws -> Status {
        let snapshot = state.read()
        let now = state.now
        func round3(_ value: Double) -> Double { (value * 1000).rounded() / 1000 }
        let activity = snapshot.activity == .running && snapshot.camera == .lost ? "camera_lost" : snapshot.activity.rawValue
        return Status(
            state: activity,
            uptime: round3(now),
            fps: (state.frameRate(now: now) * 100).rounded() / 100,
            framesAnalysed: snapshot.framesAnalysed,
            framesCaptured: snapshot.framesCaptured,
            framesDropped: snapshot.framesDropped,
            lastFrameAge: snapshot.lastFrameAt.map { round3(now - $0) },
            latencyMs: snapshot.stages.percentiles(),
            camera: .init(
                state: snapshot.camera.rawValue, detail: snapshot.cameraDetail,
                lostFor: snapshot.cameraLostAt.map { round3(now - $0) }, losses: snapshot.cameraLosses),
            narration: .init(
                language: snapshot.narration.language.rawValue, mode: snapshot.narration.mode.rawValue,
                verbosity: snapshot.narration.verbosity.name),
            lastSaid: snapshot.lastSaid?.text,
            info: info)
    }

    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var body = try encoder.encode(value)
        body.append(0x0A)
        return Response(status: status, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }

    static func text(_ text: String) -> Response {
        Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"], body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    static func problem(_ message: String) throws -> Response {
        try json(Problem(error: message), status: .badRequest)
    }

    struct Problem: Encodable {
        var ok = false
        var error: String
    }
}
