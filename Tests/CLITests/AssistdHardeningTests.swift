import Foundation
import Synchronization
import Testing

/// Issue 15 against the real `assistd` binary: a control API only the wearer's own software can
/// use, a daemon that keeps speaking through a connection flood, configuration files that cannot
/// exhaust memory, and speech that never says what is not so.
@Suite("assistd hardening", .serialized)
struct AssistdHardeningTests {
    static func write(_ text: String, in folder: URL, name: String = "\(UUID().uuidString).yaml") throws -> String {
        let path = folder.appendingPathComponent(name).path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// The nested-alias "billion laughs" file: 9 levels of 9 references, about 400 million
    /// strings once expanded, from a few hundred bytes.
    static let aliasBomb: String = {
        var lines = ["a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]"]
        let names = Array("abcdefghi").map(String.init)
        for (previous, name) in zip(names, names.dropFirst()) {
            lines.append("\(name): &\(name) [\(Array(repeating: "*\(previous)", count: 9).joined(separator: ","))]")
        }
        return lines.joined(separator: "\n") + "\n"
    }()

    // MARK: - Item 4: who may use the API

    @Test("By default the API is only on the 0600 Unix socket: no TCP port, no token file")
    func socketOnlyByDefault() throws {
        let folder = try AssistdTests.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let defaults = try Programs.run("assistd", ["--check-config"])
        #expect(defaults.output.contains("http: \"\"") && defaults.output.contains("socket: \"/run/assistd/api.sock\""), "\(defaults.output)")

        let daemon = try RunningDaemon(["--http", "", "--source", Programs.fixture(""), "--loop"], folder: folder)
        #expect(daemon.api == nil)
        #expect(!daemon.logText.contains("api listening address="), "\(daemon.logText)")
        #expect(!FileManager.default.fileExists(atPath: daemon.tokenFile), "a token file was made with HTTP off")
        var info = stat()
        #expect(lstat(daemon.socketPath, &info) == 0 && info.st_mode & 0o777 == 0o600)
        let status = try daemon.socket.get("/status")
        #expect(status.status == 200 && status.json?["state"] != nil)
        #expect(throws: LocalHTTP.Failure.self) { try LocalHTTP(endpoint: .port(8377)).get("/status") }
        #expect(daemon.terminate().status == 0)
    }

    @Test("A missing socket folder stops start-up with the path and what to do, exit 3")
    func missingSocketFolder() throws {
        let run = try Programs.run("assistd", ["--socket", "/nonexistent-assistd/api.sock", "--speech", "none", "--source", "/dev/video93"])
        #expect(run.status == 3)
        #expect(run.errors.contains("/nonexistent-assistd") && run.errors.contains("--socket"), "\(run.errors)")
    }

    @Test("A port already taken, a socket a running daemon answers on, or a socket path too long stop start-up naming the setting")
    func unusableListeners() throws {
        let folder = try AssistdTests.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        // A port another process listens on.
        let taken = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(taken) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(taken, $0, length) == 0 && listen(taken, 1) == 0 && getsockname(taken, $0, &length) == 0 }
        }
        try #require(bound)
        let port = Int(UInt16(bigEndian: address.sin_port))
        let busy = try Programs.run("assistd", [
            "--http", "127.0.0.1:\(port)", "--token-file", folder.appendingPathComponent("token").path,
            "--socket", "", "--speech", "none", "--source", Programs.fixture(""), "--loop",
        ])
        #expect(busy.status == 3, "\(busy.errors)")
        #expect(busy.errors.contains("api.http 127.0.0.1:\(port)") && busy.errors.contains("in use"), "\(busy.errors)")

        // A socket a running daemon answers on is not taken over.
        let first = try RunningDaemon(["--http", "", "--source", Programs.fixture(""), "--loop"], folder: folder)
        let second = try Programs.run("assistd", ["--http", "", "--socket", first.socketPath, "--speech", "none", "--source", Programs.fixture(""), "--loop"])
        #expect(second.status == 3, "\(second.errors)")
        #expect(second.errors.contains("another process is listening there"), "\(second.errors)")
        #expect(try first.socket.get("/status").status == 200)
        #expect(first.terminate().status == 0)

        // 105 bytes: the kernel would take it, the server library would not (at most 103).
        let long = folder.appendingPathComponent(String(repeating: "s", count: 105 - folder.path.utf8.count - 1)).path
        #expect(long.utf8.count == 105)
        let run = try Programs.run("assistd", ["--socket", long, "--check-config"])
        #expect(run.status == 2 && run.errors.contains("api.socket must be at most 103 bytes long"), "\(run.errors)")
    }

    @Test("HTTP needs the bearer token, a loopback Host and no foreign Origin; pause from a web page is refused")
    func httpNeedsTokenHostAndOrigin() throws {
        let folder = try AssistdTests.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let daemon = try RunningDaemon(["--source", Programs.fixture(""), "--loop"], folder: folder)
        let api = try #require(daemon.api)
        let token = try #require(api.token)
        #expect(token.count == 64 && token.allSatisfy(\.isHexDigit), "token: \(token.count) characters")
        var info = stat()
        #expect(lstat(daemon.tokenFile, &info) == 0 && info.st_mode & 0o777 == 0o600)
        #expect(!daemon.logText.contains(token), "the token was logged")

        let anonymous = LocalHTTP(endpoint: api.endpoint)
        let refused: [(String, LocalHTTP, [String: String?], Int, String)] = [
            ("no token", anonymous, [:], 401, "Authorization: Bearer"),
            ("wrong token", LocalHTTP(endpoint: api.endpoint, token: String(repeating: "0", count: 64)), [:], 401, "wrong bearer token"),
            ("foreign Host", api, ["Host": "evil.example"], 403, "evil.example"),
            ("foreign Host with a port", api, ["Host": "evil.example:8377"], 403, "is not this machine"),
            ("no Host", api, ["Host": nil], 403, "Host header is required"),
            ("foreign Origin", api, ["Origin": "http://evil.example"], 403, "evil.example"),
            ("opaque Origin", api, ["Origin": "null"], 403, "Origin"),
        ]
        for (label, client, headers, status, message) in refused {
            for (method, path) in [("GET", "/status"), ("POST", "/pause")] {
                let reply = try client.request(method, path, headers: headers)
                #expect(reply.status == status, "\(label) \(method) \(path): \(reply.status) \(reply.body)")
                #expect(reply.body.contains(message), "\(label): \(reply.body)")
            }
        }
        // None of those pauses took effect.
        #expect(try daemon.socket.get("/status").json?["state"] as? String != "paused")

        for headers: [String: String?] in [[:], ["Host": "127.0.0.1:1"], ["Host": "[::1]:8377"], ["Origin": "http://localhost:3000"]] {
            let reply = try api.request("GET", "/status", headers: headers)
            #expect(reply.status == 200, "\(headers): \(reply.body)")
        }
        let events = try api.events(for: 0.8)
        #expect(!events.isEmpty, "no events with the token")
        #expect(try anonymous.events(for: 0.5).isEmpty, "events without the token")
        let paused = try api.post("/pause")
        #expect(paused.status == 200 && (paused.json?["status"] as? [String: Any])?["state"] as? String == "paused")
        // The socket needs no token: its mode admits only the daemon's user.
        #expect(try daemon.socket.post("/resume").status == 200)
        #expect(daemon.terminate().status == 0)

        // The token survives a restart, so the wearer's software keeps working.
        let again = try RunningDaemon(["--source", Programs.fixture(""), "--loop", "--token-file", daemon.tokenFile], folder: folder)
        #expect(again.api.token == token)
        #expect(again.terminate().status == 0)
    }

    @Test("A token file other users can read, or that is not a plain file, stops start-up, exit 3")
    func unsafeTokenFile() throws {
        let folder = try AssistdTests.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let readable = try Self.write(String(repeating: "a", count: 64), in: folder, name: "readable.token")
        chmod(readable, 0o644)
        let fifo = folder.appendingPathComponent("fifo.token").path
        mkfifo(fifo, 0o600)
        let short = try Self.write("abc", in: folder, name: "short.token")
        chmod(short, 0o600)
        for (file, message) in [(readable, "chmod 600 \(readable)"), (fifo, "not a regular file"), (short, "holds no usable token")] {
            let run = try Programs.run("assistd", [
                "--http", "127.0.0.1:0", "--token-file", file, "--socket", "", "--speech", "none", "--source", "/dev/video93",
            ])
            #expect(run.status == 3, "\(file)")
            #expect(run.errors.contains(message), "\(run.errors)")
        }
    }

    @Test("HTTP on a loopback name is accepted; a public address still needs api.allow_public")
    func loopbackNames() throws {
        let run = try Programs.run("assistd", ["--http", "localhost:0", "--check-config"])
        #expect(run.status == 0, "\(run.errors)")
        let public_ = try Programs.run("assistd", ["--http", "192.168.1.2:8377", "--check-config"])
        #expect(public_.status == 2 && public_.errors.contains("not a loopback address"))
    }

    // MARK: - Item 3: connection cap, timeouts, and a daemon that keeps speaking

    @Test("Idle connections and trickled headers are closed after their timeouts, and counted")
    func connectionTimeouts() throws {
        let folder = try AssistdTests.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let config = try Self.write("api:\n  idle_timeout: 1.5\n  header_timeout: 0.5\n", in: folder)
        let daemon = try RunningDaemon(["--config", config, "--source", Programs.fixture(""), "--loop"], folder: folder)
        let api = try #require(daemon.api)

        func secondsUntilClosed(sending bytes: String) throws -> Double {
            let descriptor = try api.connect()
            defer { close(descriptor) }
            var data = Array(bytes.utf8)
            if !data.isEmpty { _ = send(descriptor, &data, data.count, Int32(MSG_NOSIGNAL)) }
            var timeout = timeval(tv_sec: 6, tv_usec: 0)
            setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            let start = Date()
            var buffer = [UInt8](repeating: 0, count: 256)
            while recv(descriptor, &buffer, buffer.count, 0) > 0 {}
            return Date().timeIntervalSince(start)
        }
        let idle = try secondsUntilClosed(sending: "")
        #expect(idle > 1.2 && idle < 3, "idle connection closed after \(idle) s")
        let trickled = try secondsUntilClosed(sending: "GET /status HTTP/1.1\r\nHost: loc")
        #expect(trickled > 0.3 && trickled < 1.3, "half a header held the connection \(trickled) s")
        let counts = try #require((try daemon.socket.get("/status").json?["api"] as? [String: Any])?["http"] as? [String: Any])
        #expect(counts["idle_timeouts"] as? Int ?? 0 >= 1 && counts["header_timeouts"] as? Int ?? 0 >= 1, "\(counts)")
        // An event stream has a request in progress: neither timeout ends it.
        let events = try api.events(for: 2.5)
        #expect(events.contains { $0.name == "facts" && events.last?.name != nil }, "no events")
        #expect(daemon.terminate().status == 0)
    }

    @Test("Clients that pipeline requests and never read the answers are closed after the idle timeout: the wearer's software gets in")
    func clientsThatNeverRead() throws {
        let folder = try AssistdTests.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let config = try Self.write("api:\n  max_connections: 2\n  idle_timeout: 1.5\n", in: folder)
        let daemon = try RunningDaemon(["--config", config, "--source", Programs.fixture(""), "--loop"], folder: folder)
        let api = try #require(daemon.api)

        // Every slot: refused requests (no token needed), pipelined, their answers never read.
        var stalled: [Int32] = []
        defer { for descriptor in stalled { close(descriptor) } }
        let request = Array("GET /status HTTP/1.1\r\nHost: localhost\r\n\r\n".utf8)
        let burst = [UInt8]((0..<2000).flatMap { _ in request })
        for _ in 0..<2 {
            let descriptor = try api.connect()
            stalled.append(descriptor)
            var small: Int32 = 1024
            setsockopt(descriptor, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
            // Sent until the daemon stops reading them (3 s without progress, longer than a
            // daemon slowed by a busy machine pauses): its answers fill the buffers, and the
            // connection is stalled in a request.
            let start = Date()
            var progress = Date()
            while Date().timeIntervalSince(progress) < 3, Date().timeIntervalSince(start) < 30 {
                let n = burst.withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
                if n > 0 { progress = Date() } else { Thread.sleep(forTimeInterval: 0.02) }
            }
            #expect(Date().timeIntervalSince(progress) >= 3, "the daemon read every request for 30 s")
        }

        // Within the idle timeout and a margin, an authorised request gets its answer.
        let start = Date()
        var answered: LocalHTTP.Reply?
        while answered == nil, Date().timeIntervalSince(start) < 6 {
            answered = try? api.get("/status")
            if answered == nil { Thread.sleep(forTimeInterval: 0.2) }
        }
        #expect(answered?.status == 200, "no answer for \(Date().timeIntervalSince(start)) s with every slot stalled")
        let counts = try #require((try daemon.socket.get("/status").json?["api"] as? [String: Any])?["http"] as? [String: Any])
        #expect(counts["stalled_timeouts"] as? Int ?? 0 >= 1, "\(counts)")
        #expect(daemon.terminate().status == 0)
    }

    @Test("Flooded past its connection cap under a low open-file limit, the daemon serves /status, recovers its camera and keeps speaking")
    func floodedAPI() throws {
        let folder = try AssistdTests.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let video = try AssistdTests.walkVideo(in: folder)
        let wav = folder.appendingPathComponent("speech.wav").path
        let config = try Self.write("api:\n  max_connections: 8\n  idle_timeout: 120\n", in: folder)
        let daemon = try RunningDaemon(
            ["--config", config, "--source", video, "--loop", "--rate", "5", "--max-backoff", "0.5", "--speech", "wav:\(wav)"],
            folder: folder, openFiles: 256)
        let api = try #require(daemon.api)
        _ = try daemon.wait { ($0["frames_analysed"] as? Int ?? 0) >= 3 }
        let pid = daemon.process.processIdentifier
        func openFiles() -> Int { (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? -1 }
        let before = openFiles()

        // 300 idle connections: more than the daemon's 256 open files, far past its cap of 8.
        var flood: [Int32] = []
        defer { for descriptor in flood { close(descriptor) } }
        for _ in 0..<300 {
            if let descriptor = try? api.connect() { flood.append(descriptor) }
        }
        Thread.sleep(forTimeInterval: 0.5)
        let during = openFiles()
        #expect(flood.count == 300, "only \(flood.count) connections could be opened")
        #expect(during <= before + 10, "the daemon holds \(during) files under the flood, \(before) before")

        // The wearer's software still gets the status at once, over HTTP and the socket.
        var latencies: [Double] = []
        for round in 0..<20 {
            let start = Date()
            let reply = try (round.isMultiple(of: 2) ? api : daemon.socket).get("/status")
            latencies.append(Date().timeIntervalSince(start))
            #expect(reply.status == 200, "\(reply.status)")
        }
        latencies.sort()
        #expect(latencies[latencies.count - 1] < 1.0, "slowest /status under the flood: \(latencies.last ?? 0) s")

        // The camera vanishes and comes back during the flood: it can be reopened.
        try FileManager.default.moveItem(atPath: video, toPath: video + ".away")
        _ = try daemon.wait(seconds: 10) { ($0["camera"] as? [String: Any])?["state"] as? String == "lost" }
        try FileManager.default.moveItem(atPath: video + ".away", toPath: video)
        _ = try daemon.wait(seconds: 10) { ($0["camera"] as? [String: Any])?["state"] as? String == "running" }

        // Speech is still produced: a description is said, the WAV file grows, no failure.
        let wavBefore = (try? FileManager.default.attributesOfItem(atPath: wav)[.size] as? Int) ?? 0
        let listened = Mutex<[(name: String, data: String)]>([])
        let listener = Thread { [socket = daemon.socket] in
            let events = (try? socket.events(for: 4)) ?? []
            listened.withLock { $0 = events }
        }
        listener.start()
        Thread.sleep(forTimeInterval: 0.3)
        let described = try #require(try daemon.socket.post("/describe").json?["said"] as? [[String: Any]])
        let text = try #require(described.first?["text"] as? String)
        Thread.sleep(forTimeInterval: 4)
        let heard = listened.withLock { $0 }
        #expect(heard.contains { $0.name == "speech" && $0.data.contains("\"finished\"") && $0.data.contains(text) }, "\(heard.map(\.name))")
        let wavAfter = (try? FileManager.default.attributesOfItem(atPath: wav)[.size] as? Int) ?? 0
        #expect(wavAfter > wavBefore + 10_000, "WAV grew from \(wavBefore) to \(wavAfter) bytes")
        let status = try #require(try daemon.socket.get("/status").json)
        #expect((status["speech"] as? [String: Any])?["state"] as? String == "ok", "\(status["speech"] ?? "")")
        let counts = try #require((status["api"] as? [String: Any])?["http"] as? [String: Any])
        #expect(counts["open"] as? Int ?? 99 <= 8 && counts["evicted"] as? Int ?? 0 >= 290, "\(counts)")
        let p99 = latencies[min(latencies.count - 1, Int(Double(latencies.count) * 0.99))]
        print("flood: \(flood.count) connections opened, daemon files \(before) → \(during), http \(counts), /status p99 \(p99 * 1000) ms, WAV +\(wavAfter - wavBefore) bytes")
        #expect(daemon.terminate().status == 0)
    }

    @Test("A speech failure is reported on /status, the event stream and the log, and never logged as said")
    func speechFailureReported() throws {
        let folder = try AssistdTests.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let data = folder.appendingPathComponent("espeak-ng-data")
        try FileManager.default.copyItem(atPath: "/usr/lib/x86_64-linux-gnu/espeak-ng-data", toPath: data.path)
        let daemon = try RunningDaemon(["--source", Programs.fixture(""), "--loop"], folder: folder, environment: ["ESPEAK_DATA_PATH": data.path])
        _ = try daemon.wait { ($0["frames_analysed"] as? Int ?? 0) >= 2 }
        let healthy = try #require(try daemon.socket.get("/status").json?["speech"] as? [String: Any])
        #expect(healthy["state"] as? String == "ok" && healthy["failures"] as? Int == 0)

        // eSpeak-ng's English dictionary disappears (as when the process is out of files). What
        // was said before that (the same words may have been said while speech still worked)
        // is not part of the check.
        let logBefore = daemon.logText.count
        try FileManager.default.removeItem(at: data.appendingPathComponent("en_dict"))
        let listened = Mutex<[(name: String, data: String)]>([])
        let listener = Thread { [socket = daemon.socket] in
            let events = (try? socket.events(for: 3)) ?? []
            listened.withLock { $0 = events }
        }
        listener.start()
        Thread.sleep(forTimeInterval: 0.3)
        let described = try #require(try daemon.socket.post("/describe").json?["said"] as? [[String: Any]])
        let text = try #require(described.first?["text"] as? String)
        let failing = try daemon.wait(seconds: 5) { ($0["speech"] as? [String: Any])?["state"] as? String == "failing" }
        let speech = try #require(failing["speech"] as? [String: Any])
        #expect(speech["failures"] as? Int ?? 0 >= 1)
        #expect((speech["last_error"] as? String ?? "").contains("eSpeak"), "\(speech)")
        Thread.sleep(forTimeInterval: 3)
        let heard = listened.withLock { $0 }
        #expect(heard.contains { $0.name == "speech" && $0.data.contains("\"failed\"") && $0.data.contains(text) }, "\(heard.filter { $0.name == "speech" })")
        #expect(!heard.contains { $0.name == "speech" && $0.data.contains("\"finished\"") && $0.data.contains(text) })
        let log = String(daemon.logText.dropFirst(logBefore))
        #expect(log.contains("speech failed"), "\(log)")
        #expect(!log.split(separator: "\n").contains { $0.contains("said") && !$0.contains("queued") && $0.contains(text) }, "\(log)")
        #expect(daemon.terminate().status == 0)
    }

    @Test("A sound device missing at start, or a WAV file that cannot be written: /status says so from the start, nothing is logged as said")
    func speechOutputMissingAtStart() throws {
        let folder = try AssistdTests.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let config = folder.appendingPathComponent("assistd.yaml").path
        try "speech:\n  output: alsa\n  device: \"hw:97,0\"\n".write(toFile: config, atomically: true, encoding: .utf8)
        let absent = try RunningDaemon(["--config", config, "--speech", "alsa", "--source", Programs.fixture(""), "--loop"], folder: folder)
        let status = try absent.wait { ($0["frames_analysed"] as? Int ?? 0) >= 2 }
        let speech = try #require(status["speech"] as? [String: Any])
        #expect(speech["state"] as? String == "failing", "\(speech)")
        #expect((speech["last_error"] as? String ?? "").contains("hw:97,0"), "\(speech)")
        #expect(absent.logText.contains("no sound device yet"))
        #expect(!absent.logText.split(separator: "\n").contains { $0.contains(" said ") || $0.hasSuffix(" said") }, "\(absent.logText)")
        #expect(absent.terminate().status == 0)

        let unwritable = try RunningDaemon(
            ["--source", Programs.fixture(""), "--loop", "--speech", "wav:\(folder.path)/missing/speech.wav"], folder: folder)
        let after = try unwritable.wait { ($0["frames_analysed"] as? Int ?? 0) >= 2 }
        #expect((after["speech"] as? [String: Any])?["state"] as? String == "unavailable", "\(after)")
        #expect(unwritable.logText.contains("not heard: speech is unavailable"))
        #expect(unwritable.terminate().status == 0)
    }

    @Test("eSpeak-ng without its data at start: the daemon still runs and serves its facts, speech 'unavailable' with the reason")
    func speechEngineMissingAtStart() throws {
        let folder = try AssistdTests.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let empty = folder.appendingPathComponent("no-espeak-data")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        let daemon = try RunningDaemon(["--source", Programs.fixture(""), "--loop"], folder: folder, environment: ["ESPEAK_DATA_PATH": empty.path])
        let status = try daemon.wait { ($0["frames_analysed"] as? Int ?? 0) >= 2 }
        let speech = try #require(status["speech"] as? [String: Any])
        #expect(speech["state"] as? String == "unavailable", "\(speech)")
        #expect((speech["last_error"] as? String ?? "").contains("eSpeak"), "\(speech)")
        #expect(try daemon.socket.get("/facts").json?["facts"] != nil)
        #expect(daemon.logText.contains("eSpeak-ng cannot start"))
        #expect(daemon.terminate().status == 0)
    }

    // MARK: - Item 8: bounded configuration files

    @Test("The YAML alias bomb, anchors, deep nesting, oversize files and FIFOs are refused by --check-config with the file named, quickly")
    func configurationBombs() throws {
        let folder = try AssistdTests.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let bomb = try Self.write(Self.aliasBomb, in: folder)
        let anchor = try Self.write("camera: &cam\n  rate: 4\n", in: folder)
        let merge = try Self.write("base: &base {rate: 4}\ncamera:\n  <<: *base\n", in: folder)
        let huge = try Self.write(String(repeating: "# padding line for the size cap\n", count: 2200), in: folder)
        // Unclosed lists 60,000 deep: Yams would recurse once per level and overflow the stack.
        let deep = try Self.write("camera: " + String(repeating: "[", count: 60_000) + "\n", in: folder)
        let fifo = folder.appendingPathComponent("fifo.yaml").path
        mkfifo(fifo, 0o600)
        let cases = [
            (bomb, "YAML anchors and aliases are not accepted"), (anchor, "found anchor &cam"), (merge, "line 1"),
            (huge, "at most 65536 bytes"), (fifo, "not a regular file"), (deep, "nested deeper than 32 levels"),
        ]
        for (path, message) in cases {
            let start = Date()
            let run = try Programs.run("assistd", ["--config", path, "--check-config"])
            #expect(Date().timeIntervalSince(start) < 5)
            #expect(run.status == 2, "\(path): \(run.status)")
            #expect(run.errors.contains(path) && run.errors.contains(message), "\(run.errors)")
        }
        #expect(Self.aliasBomb.utf8.count < 600)
    }

    @Test("SIGHUP with the alias bomb is refused; memory stays flat and the running settings stay")
    func reloadBomb() throws {
        let folder = try AssistdTests.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let config = try Self.write("narration:\n  language: en\n", in: folder, name: "assistd.yaml")
        let daemon = try RunningDaemon(["--config", config, "--source", Programs.fixture(""), "--loop"], folder: folder)
        _ = try daemon.wait { ($0["frames_analysed"] as? Int ?? 0) >= 2 }
        func residentKB() -> Int {
            let status = (try? String(contentsOfFile: "/proc/\(daemon.process.processIdentifier)/status", encoding: .utf8)) ?? ""
            return status.firstMatch(of: /VmRSS:\s+(\d+)/).flatMap { Int($0.1) } ?? 0
        }
        let before = residentKB()
        try (Self.aliasBomb + "narration:\n  language: zh\n").write(toFile: config, atomically: true, encoding: .utf8)
        kill(daemon.process.processIdentifier, SIGHUP)
        Thread.sleep(forTimeInterval: 1)
        let after = residentKB()
        #expect(after - before < 50_000, "RSS grew from \(before) to \(after) kB")
        #expect(daemon.logText.contains("reload refused") && daemon.logText.contains("anchors and aliases") && daemon.logText.contains(config))
        #expect(try daemon.socket.get("/status").json.flatMap { ($0["narration"] as? [String: Any])?["language"] as? String } == "en")
        #expect(daemon.terminate().status == 0)
    }

    // MARK: - Item 9: speech glitches

    @Test("No 'Camera blocked.' after 'Ready.' while the camera's first frame is on its way")
    func noBlockedAtStart() throws {
        let folder = try AssistdTests.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let frames = folder.appendingPathComponent("frames")
        try FileManager.default.createDirectory(at: frames, withIntermediateDirectories: true)
        // Two frames that cannot be decoded, then real ones: the source is open, no frame yet.
        try Data("not a jpeg".utf8).write(to: frames.appendingPathComponent("000.jpg"))
        try Data("not a jpeg".utf8).write(to: frames.appendingPathComponent("001.jpg"))
        // Enough good frames that the folder does not end (or loop back to the broken ones, a
        // real stall) before the check.
        for index in 0..<12 {
            try FileManager.default.copyItem(
                atPath: "samples/images/00_pedestrian_red_street.jpg".inRepository,
                toPath: frames.appendingPathComponent(String(format: "%03d.jpg", index + 2)).path)
        }
        let daemon = try RunningDaemon(["--source", frames.path, "--rate", "4"], folder: folder)
        _ = try daemon.wait { ($0["frames_analysed"] as? Int ?? 0) >= 2 }
        let log = daemon.logText
        #expect(log.contains("Ready."))
        #expect(!log.contains("Camera blocked."), "\(log)")
        #expect(daemon.terminate().status == 0)
    }

    @Test("While paused, /describe and /repeat say nothing (not 'Camera blocked.') and say why")
    func pausedDescribeAndRepeat() throws {
        let folder = try AssistdTests.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let video = try AssistdTests.walkVideo(in: folder)
        let daemon = try RunningDaemon(["--source", video, "--loop", "--rate", "5"], folder: folder)
        _ = try daemon.wait { ($0["frames_analysed"] as? Int ?? 0) >= 3 }
        #expect(try daemon.socket.post("/pause").status == 200)
        Thread.sleep(forTimeInterval: 1.0)
        let listened = Mutex<[(name: String, data: String)]>([])
        let listener = Thread { [socket = daemon.socket] in
            let events = (try? socket.events(for: 1.5)) ?? []
            listened.withLock { $0 = events }
        }
        listener.start()
        Thread.sleep(forTimeInterval: 0.3)
        for path in ["/describe", "/repeat"] {
            let reply = try daemon.socket.post(path)
            #expect(reply.status == 409, "\(path): \(reply.status) \(reply.body)")
            #expect(reply.body.contains("paused") && !reply.body.contains("Camera blocked"), "\(path): \(reply.body)")
        }
        Thread.sleep(forTimeInterval: 1.4)
        let utterances = listened.withLock { $0 }.filter { $0.name == "utterance" }
        #expect(utterances.isEmpty, "said while paused: \(utterances.map(\.data))")
        #expect(!daemon.logText.contains("Camera blocked."))
        let resumed = try daemon.socket.post("/resume")
        #expect(resumed.status == 200)
        _ = try daemon.wait(for: "/facts") { $0["stale"] as? Bool == false }
        #expect(try daemon.socket.post("/describe").status == 200)
        #expect(daemon.terminate().status == 0)
    }

    @Test("With the camera lost, /describe and /repeat answer 'Camera lost.', as the wearer hears it")
    func describeWhileCameraLost() throws {
        let folder = try AssistdTests.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let video = try AssistdTests.walkVideo(in: folder)
        let daemon = try RunningDaemon(["--source", video, "--loop", "--rate", "5", "--max-backoff", "0.5"], folder: folder)
        _ = try daemon.wait { ($0["frames_analysed"] as? Int ?? 0) >= 3 }
        try FileManager.default.moveItem(atPath: video, toPath: video + ".away")
        _ = try daemon.wait { ($0["camera"] as? [String: Any])?["state"] as? String == "lost" }
        _ = try daemon.wait(for: "/facts", seconds: 3) { $0["stale"] as? Bool == true }
        for path in ["/describe", "/repeat"] {
            let said = try #require(try daemon.socket.post(path).json?["said"] as? [[String: Any]], "\(path)")
            #expect(said.map { $0["text"] as? String } == ["Camera lost."], "\(path): \(said)")
        }
        #expect(!daemon.logText.contains("Camera blocked."))
        #expect(daemon.terminate().status == 0)
    }

    @Test("A looping folder none of whose images can be read is a lost camera, retried with backoff, not spun through")
    func unreadableLoopingFolder() throws {
        let folder = try AssistdTests.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let frames = folder.appendingPathComponent("frames")
        try FileManager.default.createDirectory(at: frames, withIntermediateDirectories: true)
        try Data("not a JPEG".utf8).write(to: frames.appendingPathComponent("0001.jpg"))
        let daemon = try RunningDaemon(
            ["--source", frames.path, "--loop", "--rate", "5", "--max-backoff", "0.5", "--log-level", "debug"], folder: folder)
        let status = try daemon.wait(seconds: 10) { ($0["camera"] as? [String: Any])?["state"] as? String == "lost" }
        let camera = try #require(status["camera"] as? [String: Any])
        #expect((camera["detail"] as? String)?.contains("none of its 1 images could be read") == true, "\(camera)")
        // Retried at the backoff (at most 0.5 s apart here), not reopened in a busy loop: a few
        // retries in 1.5 s.
        Thread.sleep(forTimeInterval: 1.5)
        let lines = daemon.logText.split(separator: "\n")
        let retries = lines.filter { $0.contains("camera lost, retrying") || $0.contains("camera still lost") }
        #expect((2...12).contains(retries.count), "\(retries.count) retries logged")
        // Warnings only while the wait grows, then one saying so: an unplugged camera does not
        // fill the journal at the default level.
        let warnings = retries.filter { $0.contains("WARNING") }
        #expect(warnings.count == 2 && warnings[1].contains("camera still lost; retrying every 0.5 s"), "\(warnings)")
        #expect(daemon.terminate().status == 0)
    }

    // MARK: - Item 10: requests that do not arrive intact

    @Test("A POST whose chunked body is malformed runs no command")
    func malformedChunkedPost() throws {
        let folder = try AssistdTests.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let daemon = try RunningDaemon(["--source", Programs.fixture(""), "--loop"], folder: folder)
        _ = try daemon.wait { $0["state"] as? String == "running" }
        let token = try #require(daemon.api.token)
        let bodies = ["zz\r\nhello\r\n0\r\n\r\n", "5\r\nhello-too-long\r\n0\r\n\r\n"]
        for body in bodies {
            for client in [daemon.api!, daemon.socket] {
                let reply = try client.raw(
                    "POST /pause HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer \(token)\r\nTransfer-Encoding: chunked\r\n\r\n\(body)")
                #expect(!reply.contains("\"ok\":true"), "\(reply)")
            }
        }
        Thread.sleep(forTimeInterval: 0.5)
        #expect(try daemon.socket.get("/status").json?["state"] as? String == "running")
        let oversized = try daemon.socket.raw(
            "POST /pause HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2000\r\nConnection: close\r\n\r\n\(String(repeating: "x", count: 2000))")
        #expect(oversized.hasPrefix("HTTP/1.1 413"), "\(oversized.prefix(200))")
        #expect(try daemon.socket.get("/status").json?["state"] as? String == "running")
        #expect(daemon.terminate().status == 0)
    }
}
