import Foundation

/// The real `assistd` binary running in the background, its log going to a file (a pipe nobody
/// reads would fill and block it), with the API address it logged at start.
final class RunningDaemon {
    let process: Process
    let log: URL
    /// The HTTP API on a free loopback port, with the daemon's bearer token.
    private(set) var api: LocalHTTP!
    /// The API on the daemon's Unix socket (no token needed).
    let socket: LocalHTTP
    let socketPath: String
    let tokenFile: String

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Starts assistd with `arguments` (the HTTP API on a free loopback port with its token file
    /// and the Unix socket in `folder`, speech discarded, unless the arguments say otherwise)
    /// and waits for the API to listen. `openFiles` runs it under that RLIMIT_NOFILE, as
    /// systemd's LimitNOFILE would.
    init(_ arguments: [String], folder: URL, openFiles: Int? = nil, environment: [String: String] = [:]) throws {
        let name = UUID().uuidString
        log = folder.appendingPathComponent("assistd-\(name).log")
        func given(_ flag: String) -> String? { arguments.firstIndex(of: flag).map { arguments[$0 + 1] } }
        socketPath = given("--socket") ?? folder.appendingPathComponent("\(name.prefix(8)).sock").path
        tokenFile = given("--token-file") ?? folder.appendingPathComponent("api.token").path
        socket = LocalHTTP(endpoint: .socket(socketPath))
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        var defaults: [String] = []
        for (flag, value) in [("--http", "127.0.0.1:0"), ("--speech", "none"), ("--socket", socketPath), ("--token-file", tokenFile)]
        where !arguments.contains(flag) {
            defaults += [flag, value]
        }
        let assistd = Programs.folder.appendingPathComponent("assistd").path
        process = Process()
        if let openFiles {
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", "ulimit -n \(openFiles) && exec \"$0\" \"$@\"", assistd] + defaults + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: assistd)
            process.arguments = defaults + arguments
        }
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.currentDirectoryURL = Programs.repository
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: log)
        try process.run()
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if given("--http") == "", logText.contains("api listening socket=") {
                return
            }
            if let match = logText.firstMatch(of: /api listening address=127\.0\.0\.1:(\d+)/), let port = Int(match.1) {
                let token = try? String(contentsOfFile: tokenFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
                api = LocalHTTP(endpoint: .port(port), token: token)
                return
            }
            guard process.isRunning else { throw Failure(description: "assistd exited early:\n\(logText)") }
            Thread.sleep(forTimeInterval: 0.05)
        }
        process.terminate()
        throw Failure(description: "assistd did not start its API within 30 s:\n\(logText)")
    }

    var logText: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

    /// Polls `GET path` until `condition` holds on its JSON, for at most `seconds`.
    func wait(for path: String = "/status", seconds: Double = 15, until condition: ([String: Any]) -> Bool) throws -> [String: Any] {
        let deadline = Date().addingTimeInterval(seconds)
        var last: [String: Any] = [:]
        while Date() < deadline {
            if let json = try? (api ?? socket).get(path).json {
                last = json
                if condition(json) { return json }
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
        throw Failure(description: "\(path) never reached the expected state; last: \(last)\nlog:\n\(logText)")
    }

    /// SIGTERM; returns the exit status and how long the exit took.
    func terminate() -> (status: Int32, seconds: Double) {
        let sent = Date()
        process.terminate()
        process.waitUntilExit()
        return (process.terminationStatus, Date().timeIntervalSince(sent))
    }

    deinit {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }
}
