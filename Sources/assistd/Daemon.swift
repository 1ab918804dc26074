import Dispatch
import Foundation
import Hummingbird
import Imaging
import Kernels
import Logging
import Narrator
import NIOCore
import Pipeline
import ServiceLifecycle
import Synchronization

/// The daemon put together: model, camera feed, narration worker, speech, the local API and the
/// service group that starts and stops them.
struct Daemon {
    let settings: DaemonConfiguration
    let logger: Logger
    let state: DaemonState
    let hub: EventHub
    let metrics: DaemonMetrics
    let feed: CameraFeed
    let worker: NarrationWorker
    let speech: SpeechQueue
    let api: ControlAPI
    let listeners: [Listener]
    let configPath: String?
    let overrides: ConfigurationOverrides

    init(settings: DaemonConfiguration, maxFrames: Int, configPath: String?, overrides: ConfigurationOverrides, logger: Logger) throws {
        self.settings = settings
        self.logger = logger
        self.configPath = configPath
        self.overrides = overrides
        KernelThreads.set(settings.model.threads)
        let folder = settings.model.folder.isEmpty ? StreetModel.defaultFolder : URL(fileURLWithPath: settings.model.folder)
        let model = try StreetModel.load(folder: folder)
        logger.info("model loaded", metadata: ["folder": "\(folder.path)", "parameters": "\(model.configuration.params ?? 0)"])

        let narrator = StreetNarrator(model: model, narration: settings.narrationConfig, frameRate: settings.camera.rate)
        state = DaemonState(narration: settings.narrationConfig)
        hub = EventHub()
        metrics = DaemonMetrics(registry: DaemonMetrics.bootstrap())
        let truth = SpokenTruth(state: state, maxFrameAge: narrator.tracker.config.freshness.maxAge)
        let output = SpeechOutput.open(SpeechOutputKind(parsing: settings.speech.output) ?? .none, device: settings.speech.device, logger: logger)
        // Without eSpeak-ng (its data missing) the daemon still tracks and serves its facts (a
        // haptic belt or an app may be what the wearer uses), as without a sound device; the
        // status says why nothing is heard.
        let engine = Result { () throws(SpeechError) -> ESpeakEngine in try ESpeakEngine() }
        var engineProblem: String?
        if case .failure(let problem) = engine {
            engineProblem = "\(problem)"
            logger.critical("speech is off: eSpeak-ng cannot start; the wearer hears nothing", metadata: ["error": "\(problem)"])
        }
        let unavailable = engineProblem ?? output.unavailable
        state.update { snapshot in
            snapshot.speechUnavailable = unavailable != nil
            if let reason = unavailable ?? output.notOpen {
                snapshot.speechFailing = true
                snapshot.lastSpeechError = reason
            }
        }
        speech = SpeechQueue(engine: engine, sink: output.sink, revise: truth.revised)
        feed = CameraFeed(
            settings: .init(
                source: settings.camera.source, rate: settings.camera.rate,
                capture: .init(width: settings.camera.width, height: settings.camera.height, fps: settings.camera.rate),
                loop: settings.camera.loop, maxBackoff: settings.camera.maxBackoff,
                frozenAfter: FrameInput(parsing: settings.camera.source).isCamera ? truth.maxFrameAge : nil),
            state: state, hub: hub, metrics: metrics, logger: logger)
        worker = NarrationWorker(
            narrator: narrator, feed: feed, truth: truth, speech: speech, state: state, hub: hub, metrics: metrics,
            logger: logger, rate: settings.camera.rate, maxFrames: maxFrames)
        listeners = try Self.listeners(settings.api, logger: logger)
        api = ControlAPI(
            state: state, hub: hub, worker: worker, metrics: metrics, maxFrameAge: truth.maxFrameAge,
            info: .init(model: folder.path, modelParameters: model.configuration.params, source: settings.camera.source,
                        rate: settings.camera.rate, speech: output.status),
            listeners: Dictionary(uniqueKeysWithValues: listeners.map { ($0.name, $0.connections) }))
    }

    func run() async throws {
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        for listener in listeners {
            let application = Application(
                router: api.router(access: listener.access),
                server: listener.connections.http1Server(),
                configuration: .init(address: listener.bind, serverName: "assistd"),
                onServerRunning: { [logger] channel in
                    if let path = listener.socketPath {
                        chmod(path, 0o600)
                        logger.notice("api listening", metadata: ["socket": "\(path)"])
                    } else {
                        let port = channel.localAddress?.port ?? 0
                        logger.notice("api listening", metadata: ["address": "\(listener.host):\(port)"])
                    }
                },
                logger: logger)
            services.append(.init(service: application, successTerminationBehavior: .gracefullyShutdownGroup,
                                  failureTerminationBehavior: .gracefullyShutdownGroup))
        }
        // Last in the list, so it is the first to be shut down: the event streams end before
        // the servers wait for open requests.
        services.append(.init(
            service: PipelineService(feed: feed, worker: worker, speech: speech, state: state, hub: hub, logger: logger),
            successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup))
        let group = ServiceGroup(configuration: .init(
            services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        let reload = watchForReload()
        defer { reload.cancel() }
        let speechEvents = Task { [speech, hub, metrics, state, logger, worker] in
            // What failed while speech was failing: said again (forgotten by the policy) once it
            // works, so a sound device plugged back in brings back what still holds.
            var failedSpell: [Utterance] = []
            for await event in speech.events {
                let report = SpeechReport(event, time: state.now)
                switch event {
                case .finished(let utterance, _):
                    let (heard, wasFailing) = state.update { snapshot -> (Bool, Bool) in
                        let wasFailing = snapshot.speechFailing
                        snapshot.speechFailing = false
                        guard !snapshot.speechUnavailable else { return (false, wasFailing) }
                        snapshot.lastSaid = utterance
                        snapshot.lastSaidAt = report.time
                        return (true, wasFailing)
                    }
                    if wasFailing, heard {
                        logger.notice("speech works again", metadata: ["unheard": "\(failedSpell.count)"])
                        failedSpell.forEach(worker.notHeard)
                        failedSpell.removeAll()
                    }
                    logger.info(heard ? "said" : "not heard: speech is unavailable", metadata: ["text": "\(report.text)"])
                case .failed(let utterance, _):
                    let firstOfSpell = state.update { snapshot -> Bool in
                        defer {
                            snapshot.speechFailing = true
                            snapshot.speechFailures += 1
                            snapshot.lastSpeechError = report.detail
                            snapshot.lastSpeechFailedText = report.text
                            snapshot.lastSpeechFailureAt = report.time
                        }
                        return !snapshot.speechFailing
                    }
                    if failedSpell.count < SpeechQueue.capacity { failedSpell.append(utterance) }
                    metrics.speechFailures.increment()
                    // Each failure is counted on /status and sent as an event; the journal gets
                    // the first of a spell, not a line per utterance for as long as a speaker is
                    // missing.
                    let metadata: Logger.Metadata = ["text": "\(report.text)", "error": "\(report.detail ?? "")"]
                    if firstOfSpell {
                        logger.error("speech failed; the wearer did not hear it (further failures logged at debug level until it works)",
                                     metadata: metadata)
                    } else {
                        logger.debug("speech failed; the wearer did not hear it", metadata: metadata)
                    }
                case .dropped(let utterance):
                    metrics.utterancesDropped.increment()
                    worker.notHeard(utterance)
                    logger.debug("not said: no longer true or made out of date", metadata: ["text": "\(report.text)"])
                case .overflowed:
                    // Not forgotten: said again, it would push out the next one, tick after tick.
                    metrics.utterancesDropped.increment()
                    logger.debug("not said: speech is not keeping up", metadata: ["text": "\(report.text)"])
                case .interrupted(let utterance):
                    worker.notHeard(utterance)
                    logger.debug("cut off", metadata: ["text": "\(report.text)"])
                case .started, .missingPinyin:
                    break
                }
                hub.publish("speech", report)
            }
        }
        defer { speechEvents.cancel() }
        logger.notice("started", metadata: ["source": "\(settings.camera.source)", "rate": "\(settings.camera.rate)"])
        try await group.run()
    }

    /// One place the API is served, who may use it and its connection limits.
    struct Listener: Sendable {
        var name: String
        var bind: BindAddress
        var host: String
        var socketPath: String?
        var access: APIAccess
        var connections: ConnectionGuard
    }

    /// Why the API cannot be served as configured.
    struct ListenerFailure: Error, CustomStringConvertible {
        var description: String
    }

    /// The Unix socket (no token: its mode 0600 admits only the daemon's user) and, when
    /// configured, HTTP with the bearer token from `api.token_file` (created at the first start).
    private static func listeners(_ api: DaemonConfiguration.API, logger: Logger) throws -> [Listener] {
        let limits = ConnectionGuard.Limits(
            maxConnections: api.maxConnections,
            idleTimeout: .nanoseconds(Int64(api.idleTimeout * 1e9)),
            headerTimeout: .nanoseconds(Int64(api.headerTimeout * 1e9)))
        var listeners: [Listener] = []
        if !api.socket.isEmpty {
            let folder = (api.socket as NSString).deletingLastPathComponent
            var isFolder: ObjCBool = false
            guard folder.isEmpty || (FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder) && isFolder.boolValue) else {
                throw ListenerFailure(description: """
                    api.socket \(api.socket): the folder \(folder) does not exist (systemd creates /run/assistd for the \
                    unit); pass --socket PATH in an existing folder
                    """)
            }
            var info = stat()
            if lstat(api.socket, &info) == 0, (info.st_mode & S_IFMT) == S_IFSOCK {
                // A socket left by a daemon that died is removed; one that answers belongs to a
                // running daemon, whose wearer would silently lose their controls to this one.
                if ListenerProbe.answers(socketPath: api.socket) {
                    throw ListenerFailure(description: """
                        api.socket \(api.socket): another process is listening there (an assistd already running?); \
                        stop it, or pass --socket with another path
                        """)
                }
                unlink(api.socket)
            }
            listeners.append(Listener(
                name: "socket", bind: .unixDomainSocket(path: api.socket), host: "unix", socketPath: api.socket,
                access: .socket, connections: ConnectionGuard(limits: limits, listener: "socket", logger: logger)))
        }
        if !api.http.isEmpty, let (host, port) = DaemonConfiguration.hostAndPort(api.http) {
            // Probed now, before the camera and the narration start: a port already taken would
            // otherwise end the running daemon with the network library's words.
            if let problem = ListenerProbe.bindProblem(host: host, port: port) {
                throw ListenerFailure(description: "api.http \(api.http): cannot listen there: \(problem); pass --http with a free port")
            }
            let token: String
            do {
                token = try APITokenFile.loadOrCreate(api.tokenFile)
            } catch {
                throw ListenerFailure(description: error.description)
            }
            logger.notice("api token", metadata: ["file": "\(api.tokenFile)"])
            listeners.append(Listener(
                name: "http", bind: .hostname(host, port: port), host: host,
                access: APIAccess(token: token, acceptsAddressHosts: api.allowPublic),
                connections: ConnectionGuard(limits: limits, listener: "http", logger: logger)))
        }
        return listeners
    }

    /// SIGHUP reloads the configuration file: narration settings apply at once; a change to the
    /// camera, model, speech or API is logged as needing a restart. An invalid file is refused
    /// and the running settings stay.
    private func watchForReload() -> any DispatchSourceSignal {
        signal(SIGHUP, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global())
        let (configPath, overrides, running, worker, logger) = (configPath, overrides, settings, worker, logger)
        // What the file said at the last (re)load: a reload applies what changed since, not the
        // whole file, so the API's choices (a language, a mode) stand until the file changes them.
        let loaded = Mutex(settings)
        source.setEventHandler {
            let next: DaemonConfiguration
            do {
                next = try DaemonConfiguration.effective(file: configPath, overrides: overrides)
            } catch {
                logger.error("reload refused; keeping the running settings", metadata: ["error": "\(error)"])
                return
            }
            let before = loaded.withLock { previous in
                defer { previous = next }
                return previous
            }
            Task {
                _ = await worker.perform(.reload(before: before.narrationConfig, after: next.narrationConfig))
                var restartNeeded: [String] = []
                if next.log != running.log { restartNeeded.append("log") }
                if next.camera != running.camera { restartNeeded.append("camera") }
                if next.model != running.model { restartNeeded.append("model") }
                if next.speech != running.speech { restartNeeded.append("speech") }
                if next.api != running.api { restartNeeded.append("api") }
                logger.notice("configuration reloaded", metadata: [
                    "file": "\(configPath ?? "(none)")",
                    "needs_restart": "\(restartNeeded.isEmpty ? "nothing" : restartNeeded.joined(separator: ","))",
                ])
            }
        }
        source.resume()
        return source
    }
}

/// What happened to an utterance in the speech queue, for the event stream (a haptic device can
/// follow what is being said).
struct SpeechReport: Encodable {
    var kind: String
    var text: String
    var detail: String?
    var time: Double

    init(_ event: SpeechEvent, time: Double) {
        self.time = (time * 1000).rounded() / 1000
        switch event {
        case .started(let utterance): (kind, text) = ("started", utterance.text)
        case .finished(let utterance, _): (kind, text) = ("finished", utterance.text)
        case .interrupted(let utterance): (kind, text) = ("interrupted", utterance.text)
        case .dropped(let utterance): (kind, text) = ("dropped", utterance.text)
        case .overflowed(let utterance): (kind, text) = ("overflowed", utterance.text)
        case .failed(let utterance, let error): (kind, text, detail) = ("failed", utterance.text, "\(error)")
        case .missingPinyin(let utterance, let characters): (kind, text, detail) = ("missing_pinyin", utterance.text, String(characters))
        }
    }
}
