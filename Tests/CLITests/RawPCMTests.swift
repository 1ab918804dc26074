import Foundation
import Testing

/// Speech as raw samples (DESIGN.md: WAV, ALSA or raw PCM), for another program to play or carry.
@Suite("Raw PCM speech from listen and assistd")
struct RawPCMTests {
    @Test("listen describe --pcm FILE: headerless 16-bit samples of the words said, beside the printed description")
    func listenWritesRawSamples() throws {
        let folder = try DescribeTests.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let raw = folder.appendingPathComponent("speech.raw").path
        let run = try Programs.run("listen", ["describe", "--pcm", raw, "samples/images/00_pedestrian_red_street.jpg"])
        #expect(run.status == 0, "\(run.errors)")
        #expect(run.output.contains("Wait."))
        let bytes = try Data(contentsOf: URL(fileURLWithPath: raw))
        // "Wait." is about half a second at 22 050 Hz: tens of thousands of bytes, an even count,
        // no RIFF header, not silence.
        #expect(bytes.count > 10_000 && bytes.count < 200_000 && bytes.count % 2 == 0, "\(bytes.count) bytes")
        #expect(!bytes.starts(with: Data("RIFF".utf8)))
        #expect(bytes.contains { $0 != 0 })

        let refused = try Programs.run("listen", ["describe", "--pcm", folder.appendingPathComponent("missing/speech.raw").path, "samples/images/00_pedestrian_red_street.jpg"])
        #expect(refused.status != 0)
        #expect(refused.errors.contains("missing/speech.raw"), "\(refused.errors)")
    }

    @Test("listen describe --pcm on a named pipe says it waits for a player, then writes to it")
    func listenWaitsForAPlayer() throws {
        let folder = try DescribeTests.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let fifo = folder.appendingPathComponent("speech").path
        #expect(mkfifo(fifo, 0o600) == 0)
        let process = try Programs.start(
            executable: Programs.folder.appendingPathComponent("listen"),
            ["describe", "--pcm", fifo, "samples/images/00_pedestrian_red_street.jpg"])
        // No player yet: listen says so on standard error and waits.
        let errors = (process.standardError as! Pipe).fileHandleForReading
        var said = ""
        let deadline = Date().addingTimeInterval(30)
        while !said.contains("waiting for a player"), Date() < deadline {
            said += String(decoding: errors.availableData, as: UTF8.self)
        }
        #expect(said.contains("\(fifo): waiting for a player to open the named pipe"), "\(said)")
        let player = try #require(FileHandle(forReadingAtPath: fifo))
        let heard = player.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(heard.count > 10_000 && heard.count % 2 == 0, "\(heard.count) bytes")
    }

    @Test("assistd refuses to write raw samples into the journal: speech unavailable, nothing on standard output")
    func daemonRefusesTheJournal() throws {
        let folder = try DescribeTests.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let output = Pipe()
        var status = stat()
        #expect(fstat(output.fileHandleForWriting.fileDescriptor, &status) == 0)
        let process = Process()
        process.executableURL = Programs.folder.appendingPathComponent("assistd")
        process.arguments = ["--source", "samples/images", "--rate", "20", "--max-frames", "3", "--speech", "pcm",
                             "--socket", folder.appendingPathComponent("api.sock").path]
        // What systemd sets when standard output is the journal: its device and inode.
        process.environment = ProcessInfo.processInfo.environment.merging(["JOURNAL_STREAM": "\(status.st_dev):\(status.st_ino)"]) { $1 }
        process.currentDirectoryURL = Programs.repository
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = output
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        try output.fileHandleForWriting.close()
        let written = output.fileHandleForReading.readDataToEndOfFile()
        let log = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(log)")
        #expect(written.isEmpty, "\(written.count) bytes of audio in the journal")
        #expect(log.contains("standard output is the journal"), "\(log)")
    }

    @Test("assistd --speech pcm: raw samples on standard output, the log on standard error")
    func daemonWritesRawSamples() throws {
        let folder = try DescribeTests.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let socket = folder.appendingPathComponent("api.sock").path
        let process = try Programs.start(
            executable: Programs.folder.appendingPathComponent("assistd"),
            ["--source", "samples/images", "--rate", "20", "--max-frames", "3", "--speech", "pcm", "--socket", socket])
        let output = (process.standardOutput as! Pipe).fileHandleForReading.readDataToEndOfFile()
        let log = String(decoding: (process.standardError as! Pipe).fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(log)")
        // "Ready." at least, as samples.
        #expect(output.count > 10_000 && output.count % 2 == 0, "\(output.count) bytes\n\(log)")
        #expect(!output.starts(with: Data("RIFF".utf8)))
        #expect(log.contains("frames_analysed=3") && !log.contains("unavailable"))
    }
}
