import Foundation
import Hummingbird
import Kernels
import Narrator
import Pipeline

/// The local control and status API: status, facts, a live event stream, metrics and commands.
/// Served on a Unix domain socket (mode 0600) and, only when configured, on loopback HTTP with a
/// bearer token (`APIAccess`); never on a public interface unless the configuration says so.
struct ControlAPI: Sendable {
    let state: DaemonState
    let hub: EventHub
    let worker: NarrationWorker
    let metrics: DaemonMetrics
    /// The tracker's freshness limit: older facts are served as stale.
    let maxFrameAge: Double
    let info: StaticInfo
    /// Each listener's connection guard, by name ("http", "socket"), for the status.
    var listeners: [String: ConnectionGuard] = [:]

    /// What does not change while the daemon runs.
    struct StaticInfo: Sendable, Encodable {
        var model: String
        var modelParameters: Int?
        var source: String
        var rate: Double
        var speech: String
        var engine = Engine()
        var version = "1"

        enum CodingKeys: String, CodingKey {
            case model, source, rate, speech, engine, version
            case modelParameters = "model_parameters"
        }
    }

    /// Which kernels run the model, and whether the linked OpenBLAS chose a core below this CPU
    /// (it is not used by the model; a board with a mismatch is still reported, never silent).
    struct Engine: Sendable, Encodable {
        var kernel = GEMMKernel.selected.rawValue
        var openBLASCore = BLASCore.current.name
        var openBLASMismatch = BLASCore.current.isMismatch
        var note = BLASCore.current.summary

        enum CodingKeys: String, CodingKey {
            case kernel, note
            case openBLASCore = "openblas_core"
            case openBLASMismatch = "openblas_mismatch"
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
          POST /repeat              say the last thing heard again (or what holds now, if it changed)
        Over HTTP every request needs "Authorization: Bearer TOKEN" (the token in api.token_file),
        a loopback Host and no foreign Origin; the Unix socket (mode 0600) needs none of these.

        """

    /// The largest request body a command accepts. Commands take no body; reading it in full
    /// before acting means a request whose body is malformed (a broken chunked encoding) fails
    /// as a whole instead of running its command.
    static let maxCommandBody = 1024

    func router(access: APIAccess) -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: APIAccessMiddleware(access: access))
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
        router.post("pause") { request, _ in try await command(.pause, request) }
        router.post("resume") { request, _ in try await command(.resume, request) }
        router.post("describe") { request, _ in try await command(.describeNow, request) }
        router.post("repeat") { request, _ in try await command(.repeatLast, request) }
        router.post("mode/:value") { request, context in
            let value = try context.parameters.require("value")
            guard let mode = NarrationMode(rawValue: value) else {
                return try Self.problem("mode must be crossing, walking or describe, not '\(value)'")
            }
            return try await command(.mode(mode), request)
        }
        router.post("verbosity/:value") { request, context in
            let value = try context.parameters.require("value")
            guard let verbosity = Verbosity(name: value) else {
                return try Self.problem("verbosity must be minimal, normal or verbose, not '\(value)'")
            }
            return try await command(.verbosity(verbosity), request)
        }
        router.post("language/:value") { request, context in
            let value = try context.parameters.require("value")
            guard let language = Language(rawValue: value) else {
                return try Self.problem("language must be en or zh, not '\(value)'")
            }
            return try await command(.language(language), request)
        }
        return router
    }

    /// Runs `command` once the whole request has arrived intact.
    private func command(_ command: DaemonCommand, _ request: Request) async throws -> Response {
        do {
            _ = try await request.body.collect(upTo: Self.maxCommandBody)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            return try Self.json(Problem(error: "commands take no body (at most \(Self.maxCommandBody) bytes are accepted)"), status: .contentTooLarge)
        }
        guard case .said(let said) = await worker.perform(command) else {
            return try Self.json(Problem(error: "narration is paused, so nothing current can be said; POST /resume first"), status: .conflict)
        }
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
        /// How long ago the newest analysed frame was captured (not when its analysis ended: a
        /// pipeline that falls behind shows here as it does to the tracker).
        var lastFrameAge: Double?
        var latencyMs: [String: [String: Double]]
        var camera: Camera
        var narration: Narration
        var lastSaid: String?
        var speech: Speech
        var api: [String: ConnectionGuard.Counts]
        var info: StaticInfo

        /// Whether speech is being heard: a failure (eSpeak-ng could not read its data, the
        /// sound device failed) is reported here until an utterance is spoken again.
        struct Speech: Encodable {
            var state: String
            var failures: Int
            var lastError: String?
            var lastFailedText: String?
            var lastFailureAt: Double?

            enum CodingKeys: String, CodingKey {
                case state, failures
                case lastError = "last_error"
                case lastFailedText = "last_failed_text"
                case lastFailureAt = "last_failure_s"
            }
        }

        struct Camera: Encodable {
            var state: String
            var detail: String?
            var lostFor: Double?
            var losses: Int
            /// How often a frozen camera was closed and opened again.
            var reopens: Int

            enum CodingKeys: String, CodingKey {
                case state, detail, losses, reopens
                case lostFor = "lost_for_s"
            }
        }

        struct Narration: Encodable {
            var language: String
            var mode: String
            var verbosity: String
        }

        enum CodingKeys: String, CodingKey {
            case state, fps, camera, narration, info, speech, api
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
        let activity = switch (snapshot.activity, snapshot.camera) {
        case (.running, .lost): "camera_lost"
        case (.running, .frozen): "camera_frozen"
        default: snapshot.activity.rawValue
        }
        return Status(
            state: activity,
            uptime: round3(now),
            fps: (state.frameRate(now: now) * 100).rounded() / 100,
            framesAnalysed: snapshot.framesAnalysed,
            framesCaptured: snapshot.framesCaptured,
            framesDropped: snapshot.framesDropped,
            lastFrameAge: (snapshot.scene?.frameTime ?? snapshot.lastFrameAt).map { round3(now - $0) },
            latencyMs: snapshot.stages.percentiles(),
            camera: .init(
                state: snapshot.camera.rawValue, detail: snapshot.cameraDetail,
                lostFor: snapshot.cameraLostAt.map { round3(now - $0) }, losses: snapshot.cameraLosses,
                reopens: snapshot.cameraReopens),
            narration: .init(
                language: snapshot.narration.language.rawValue, mode: snapshot.narration.mode.rawValue,
                verbosity: snapshot.narration.verbosity.name),
            lastSaid: snapshot.lastSaid?.text,
            speech: .init(
                state: snapshot.speechUnavailable ? "unavailable" : snapshot.speechFailing ? "failing" : "ok", failures: snapshot.speechFailures,
                lastError: snapshot.lastSpeechError, lastFailedText: snapshot.lastSpeechFailedText,
                lastFailureAt: snapshot.lastSpeechFailureAt.map(round3)),
            api: listeners.mapValues(\.counts),
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
