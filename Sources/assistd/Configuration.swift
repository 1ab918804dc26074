import CYaml
import Foundation
import Narrator
import Yams

/// Everything assistd can be told, with the defaults a wearer at a crossing needs. Read from a
/// YAML file (`deploy/assistd.yaml` documents every key), then overridden by command-line flags.
/// `validated()` refuses impossible values with the key and the reason.
struct DaemonConfiguration: Equatable, Sendable {
    var camera = Camera()
    var model = Model()
    var narration = Narration()
    var speech = Speech()
    var api = API()
    var log = Log()

    struct Camera: Equatable, Sendable {
        /// A camera index, /dev/videoN, a video file or a folder of images.
        var source = "0"
        /// Frames analysed per second; the camera may deliver more, which are dropped.
        var rate = 5.0
        var width = 0
        var height = 0
        /// Start a video file or a folder again when it ends.
        var loop = false
        /// The longest wait between reconnection attempts, in seconds.
        var maxBackoff = 5.0
    }

    struct Model: Equatable, Sendable {
        /// A model folder; empty for the shipped default.
        var folder = ""
        var threads = 2
    }

    struct Narration: Equatable, Sendable {
        var language = "en"
        var mode = "crossing"
        var verbosity = "normal"
        var directions = "relative"
    }

    struct Speech: Equatable, Sendable {
        /// `alsa` (the sound device), `none` (synthesise and discard: for tests and for an
        /// integrator that only reads the API), `pcm` (raw samples on standard output, for a
        /// player it is piped into) or `wav:PATH`.
        var output = "alsa"
        /// The ALSA device for `alsa`.
        var device = "default"
    }

    struct API: Equatable, Sendable {
        /// HOST:PORT for HTTP; empty (the default) turns it off. Off by default because any
        /// local process and any web page in the wearer's browser can reach a loopback port,
        /// and the API decides what a blind person hears; when on, every request needs the
        /// bearer token from `tokenFile`. Port 0 picks a free port (logged at start).
        var http = ""
        /// A Unix domain socket path (created with mode 0600, so only the daemon's own user can
        /// connect); empty turns it off. The default is the folder systemd creates for the unit
        /// (`RuntimeDirectory=assistd`).
        var socket = "/run/assistd/api.sock"
        /// HTTP on a non-loopback address must be asked for explicitly: the API controls what
        /// a blind person hears.
        var allowPublic = false
        /// The bearer token HTTP clients must send, created (mode 0600) at the first start
        /// with HTTP on. Kept across restarts so the wearer's own software keeps working.
        var tokenFile = "/var/lib/assistd/api.token"
        /// Open connections per listener; beyond it the oldest connection with no request in
        /// progress is closed. Bounds the file descriptors a flood can take from the camera
        /// and from eSpeak-ng's dictionaries.
        var maxConnections = 16
        /// Seconds a connection may wait with no request in progress before it is closed.
        var idleTimeout = 30.0
        /// Seconds from a request's first byte to the end of its headers (a client that
        /// trickles its headers holds a connection slot for no purpose).
        var headerTimeout = 5.0
    }

    struct Log: Equatable, Sendable {
        /// trace, debug, info, notice, warning, error or critical.
        var level = "info"
    }

    init() {}

    /// The keys of each section, as written in the file.
    static let schema: [String: [String]] = [
        "camera": ["source", "rate", "width", "height", "loop", "max_backoff"],
        "model": ["folder", "threads"],
        "narration": ["language", "mode", "verbosity", "directions"],
        "speech": ["output", "device"],
        "api": ["http", "socket", "allow_public", "token_file", "max_connections", "idle_timeout", "header_timeout"],
        "log": ["level"],
    ]

    /// The largest configuration file read. The documented file with every key is under 4 KiB;
    /// the cap keeps a mistaken path (a log, a device) from being read into memory.
    static let maxFileSize = 64 * 1024

    /// Reads `path` over the defaults: missing sections and keys keep their defaults; unknown
    /// keys and wrong types are refused with the file, the key and what was expected (a typo
    /// in a key would otherwise be silently ignored). Anchors and aliases are refused before
    /// the YAML is built: a few hundred bytes of nested aliases expand to gigabytes.
    static func load(path: String) throws(ConfigurationError) -> DaemonConfiguration {
        let text = try ConfigurationFile.read(path, limit: maxFileSize)
        try ConfigurationFile.refuseAnchorsAndAliases(in: text, path: path)
        let tree = try YAMLTree.load(text, path: path)
        var configuration = DaemonConfiguration()
        guard let tree else { return configuration }
        guard let root = tree as? [String: Any] else {
            throw .invalid(path, problem: "expected sections (camera:, model:, narration:, speech:, api:, log:)")
        }
        do {
            try configuration.apply(root)
        } catch {
            throw .invalid(path, problem: error.description)
        }
        return configuration
    }

    /// Sets every key present in `root` (the parsed YAML).
    mutating func apply(_ root: [String: Any]) throws(ConfigurationError) {
        for (name, value) in root {
            guard let keys = Self.schema[name] else { throw .unknownKey(name, allowed: Self.schema.keys.sorted()) }
            guard let section = value as? [String: Any] else {
                if value is NSNull { continue }
                throw .badValue(name, "must be a section of key: value lines")
            }
            for key in section.keys where !keys.contains(key) {
                throw .unknownKey("\(name).\(key)", allowed: keys)
            }
            let reader = SectionReader(name: name, values: section)
            switch name {
            case "camera":
                camera.source = try reader.text("source") ?? camera.source
                camera.rate = try reader.number("rate") ?? camera.rate
                camera.width = try reader.whole("width") ?? camera.width
                camera.height = try reader.whole("height") ?? camera.height
                camera.loop = try reader.flag("loop") ?? camera.loop
                camera.maxBackoff = try reader.number("max_backoff") ?? camera.maxBackoff
            case "model":
                model.folder = try reader.text("folder") ?? model.folder
                model.threads = try reader.whole("threads") ?? model.threads
            case "narration":
                narration.language = try reader.text("language") ?? narration.language
                narration.mode = try reader.text("mode") ?? narration.mode
                narration.verbosity = try reader.text("verbosity") ?? narration.verbosity
                narration.directions = try reader.text("directions") ?? narration.directions
            case "speech":
                speech.output = try reader.text("output") ?? speech.output
                speech.device = try reader.text("device") ?? speech.device
            case "api":
                api.http = try reader.text("http") ?? api.http
                api.socket = try reader.text("socket") ?? api.socket
                api.allowPublic = try reader.flag("allow_public") ?? api.allowPublic
                api.tokenFile = try reader.text("token_file") ?? api.tokenFile
                api.maxConnections = try reader.whole("max_connections") ?? api.maxConnections
                api.idleTimeout = try reader.number("idle_timeout") ?? api.idleTimeout
                api.headerTimeout = try reader.number("header_timeout") ?? api.headerTimeout
            default:
                log.level = try reader.text("level") ?? log.level
            }
        }
    }

    /// The configuration if every value is usable.
    func validated() throws(ConfigurationError) -> DaemonConfiguration {
        func check(_ ok: Bool, _ key: String, _ problem: String) throws(ConfigurationError) {
            if !ok { throw .badValue(key, problem) }
        }
        try check(!camera.source.isEmpty, "camera.source", "must name a camera, a video file or a folder")
        // A light is spoken only from a frame at most 1.5 frame intervals old; below 2 frames a
        // second that would be over 0.75 s, and a green takes 5 frames to confirm (rules 1, 2).
        try check(camera.rate >= 2 && camera.rate <= 120, "camera.rate",
                  "must be between 2 and 120 frames per second (below 2, the light would be spoken from frames too old to trust)")
        try check((0...16384).contains(camera.width) && (0...16384).contains(camera.height), "camera.width/height",
                  "must be between 0 (the camera's own) and 16384 pixels")
        // A camera plugged back in is found within this wait; minutes of "Camera lost." with the
        // camera back would leave the wearer without the street for nothing.
        try check(camera.maxBackoff >= 0.1 && camera.maxBackoff <= 60, "camera.max_backoff", "must be between 0.1 and 60 seconds")
        try check(model.threads >= 1 && model.threads <= 64, "model.threads", "must be between 1 and 64")
        try check(Language(rawValue: narration.language) != nil, "narration.language", "must be en or zh")
        try check(NarrationMode(rawValue: narration.mode) != nil, "narration.mode", "must be crossing, walking or describe")
        try check(Verbosity(name: narration.verbosity) != nil, "narration.verbosity", "must be minimal, normal or verbose")
        try check(DirectionStyle(rawValue: narration.directions) != nil, "narration.directions", "must be relative or clockFace")
        try check(SpeechOutputKind(parsing: speech.output) != nil, "speech.output", "must be alsa, none, pcm or wav:PATH")
        try check(!api.http.isEmpty || !api.socket.isEmpty, "api", "needs http or socket (or both)")
        if !api.http.isEmpty {
            guard let (host, port) = Self.hostAndPort(api.http) else {
                throw .badValue("api.http", "must be HOST:PORT, e.g. 127.0.0.1:8377")
            }
            try check((0...65535).contains(port), "api.http", "port must be 0–65535")
            try check(api.allowPublic || LoopbackNames.isLoopback(host: host), "api.http",
                      "\(host) is not a loopback address; set api.allow_public: true to serve other machines")
            try check(!api.tokenFile.isEmpty, "api.token_file", "must name a file: HTTP is served only with a bearer token")
        }
        try check(api.socket.utf8.count <= ListenerProbe.maxSocketPath, "api.socket",
                  "must be at most \(ListenerProbe.maxSocketPath) bytes long (a Unix socket path's limit)")
        try check((1...1024).contains(api.maxConnections), "api.max_connections", "must be between 1 and 1024")
        try check(api.idleTimeout >= 1 && api.idleTimeout <= 3600, "api.idle_timeout", "must be between 1 and 3600 seconds")
        try check(api.headerTimeout >= 0.1 && api.headerTimeout <= 60, "api.header_timeout", "must be between 0.1 and 60 seconds")
        try check(["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(log.level), "log.level",
                  "must be trace, debug, info, notice, warning, error or critical")
        return self
    }

    var narrationConfig: NarrationConfig {
        NarrationConfig(
            language: Language(rawValue: narration.language) ?? .english,
            mode: NarrationMode(rawValue: narration.mode) ?? .crossing,
            verbosity: Verbosity(name: narration.verbosity) ?? .normal,
            directions: DirectionStyle(rawValue: narration.directions) ?? .relative)
    }

    static func hostAndPort(_ text: String) -> (String, Int)? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]) else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return host.isEmpty ? nil : (host, port)
    }
}

/// Typed reads of one section's values, with messages that name the key.
struct SectionReader {
    var name: String
    var values: [String: Any]

    func text(_ key: String) throws(ConfigurationError) -> String? {
        guard let value = values[key], !(value is NSNull) else { return nil }
        if let text = value as? String { return text }
        if let number = value as? Int { return String(number) }
        throw .badValue("\(name).\(key)", "must be text")
    }

    func number(_ key: String) throws(ConfigurationError) -> Double? {
        guard let value = values[key], !(value is NSNull) else { return nil }
        if let number = value as? Double { return number }
        if let number = value as? Int { return Double(number) }
        throw .badValue("\(name).\(key)", "must be a number")
    }

    func whole(_ key: String) throws(ConfigurationError) -> Int? {
        guard let value = values[key], !(value is NSNull) else { return nil }
        if let number = value as? Int { return number }
        throw .badValue("\(name).\(key)", "must be a whole number")
    }

    func flag(_ key: String) throws(ConfigurationError) -> Bool? {
        guard let value = values[key], !(value is NSNull) else { return nil }
        if let flag = value as? Bool { return flag }
        throw .badValue("\(name).\(key)", "must be true or false")
    }
}

/// A configuration that cannot be used, with the file or key and what to change.
enum ConfigurationError: Error, CustomStringConvertible, Equatable {
    case unreadable(String, reason: String)
    case invalid(String, problem: String)
    case unknownKey(String, allowed: [String])
    case badValue(String, String)

    var description: String {
        switch self {
        case .unreadable(let path, let reason): "\(path): \(reason)"
        case .invalid(let path, let problem): "\(path): \(problem)"
        case .unknownKey(let key, let allowed): "unknown key '\(key)' (expected one of: \(allowed.joined(separator: ", ")))"
        case .badValue(let key, let problem): "\(key) \(problem)"
        }
    }
}

/// Command-line values that win over the configuration file (nil: not given).
struct ConfigurationOverrides: Sendable {
    var source: String?
    var rate: Double?
    var width: Int?
    var height: Int?
    var loop: Bool?
    var maxBackoff: Double?
    var model: String?
    var threads: Int?
    var language: String?
    var mode: String?
    var verbosity: String?
    var speech: String?
    var http: String?
    var socket: String?
    var tokenFile: String?
    var logLevel: String?

    func apply(to c: inout DaemonConfiguration) {
        if let source { c.camera.source = source }
        if let rate { c.camera.rate = rate }
        if let width { c.camera.width = width }
        if let height { c.camera.height = height }
        if let loop { c.camera.loop = loop }
        if let maxBackoff { c.camera.maxBackoff = maxBackoff }
        if let model { c.model.folder = model }
        if let threads { c.model.threads = threads }
        if let language { c.narration.language = language }
        if let mode { c.narration.mode = mode }
        if let verbosity { c.narration.verbosity = verbosity }
        if let speech { c.speech.output = speech }
        if let http { c.api.http = http }
        if let socket { c.api.socket = socket }
        if let tokenFile { c.api.tokenFile = tokenFile }
        if let logLevel { c.log.level = logLevel }
    }
}

extension DaemonConfiguration {
    /// The file's settings (or the defaults) with the flags on top, validated.
    static func effective(file: String?, overrides: ConfigurationOverrides) throws(ConfigurationError) -> DaemonConfiguration {
        var configuration = DaemonConfiguration()
        if let file { configuration = try load(path: file) }
        overrides.apply(to: &configuration)
        return try configuration.validated()
    }

    /// The settings as YAML, for --check-config and the start-up log.
    var summary: String {
        """
        camera:
          source: "\(camera.source)"
          rate: \(camera.rate)
          width: \(camera.width)
          height: \(camera.height)
          loop: \(camera.loop)
          max_backoff: \(camera.maxBackoff)
        model:
          folder: "\(model.folder)"
          threads: \(model.threads)
        narration:
          language: \(narration.language)
          mode: \(narration.mode)
          verbosity: \(narration.verbosity)
          directions: \(narration.directions)
        speech:
          output: "\(speech.output)"
          device: "\(speech.device)"
        api:
          http: "\(api.http)"
          socket: "\(api.socket)"
          allow_public: \(api.allowPublic)
          token_file: "\(api.tokenFile)"
          max_connections: \(api.maxConnections)
          idle_timeout: \(api.idleTimeout)
          header_timeout: \(api.headerTimeout)
        log:
          level: \(log.level)
        """
    }
}
