import Foundation

/// The real `assistd` binary running in the background, its log going to a file (a pipe nobody
/// reads would fill and block it), with the API address it logged at start.
final class RunningDaemon {
    let process: Process
    let log: URL
    private(set) var api: LocalHTTP!

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Starts assistd with `arguments` (the HTTP API on a free loopback port, speech discarded
    /// unless the arguments say otherwise) and waits for the API to listen.
    init(_ arguments: [String], folder: URL) throws {
        log = folder.appendingPathComponent("assistd-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        process = Process()
        process.executableURL = Programs.folder.appendingPathComponent("assistd")
        process.arguments = ["--http", "127.0.0.1:0", "--speech", "none"] + arguments
        process.currentDirectoryURL = Programs.repository
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: log)
        try process.run()
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if let match = logText.firstMatch(of: /api listening address=127\.0\.0\.1:(\d+)/), let port = Int(match.1) {
                api = LocalHTTP(endpoint: .port(port))
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
            if let json = try? api.get(path).json {
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
