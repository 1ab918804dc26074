import Foundation
import Testing

@Suite("assistd")
struct AssistdTests {
    @Test("--help teaches the sources and gives examples")
    func help() throws {
        let run = try Programs.run("assistd", ["--help"])
        #expect(run.status == 0)
        for expected in ["--source", "/dev/video", "--loop", "Examples:", "SIGTERM"] {
            #expect(run.output.contains(expected), "help lacks \(expected)")
        }
    }

    @Test("Analyses a folder of frames and stops at --max-frames")
    func folderSource() throws {
        let run = try Programs.run("assistd", ["--source", Programs.fixture(""), "--rate", "50", "--max-frames", "3", "--loop"])
        #expect(run.status == 0, "\(run.errors)")
        #expect(run.errors.contains("frame 3:"))
        #expect(run.errors.contains("stopped after 3 frames"))
    }

    @Test("Bad options are refused with a message")
    func validation() throws {
        let run = try Programs.run("assistd", ["--rate", "0"])
        #expect(run.status != 0)
        #expect(run.errors.contains("--rate must be between 0 and 120"))
    }

    @Test("Waits for a missing camera and exits 0 within a second of SIGTERM")
    func sigtermWhileWaitingForCamera() throws {
        let process = try Programs.start("assistd", ["--source", "/dev/video93"])
        Thread.sleep(forTimeInterval: 0.8)
        #expect(process.isRunning)
        let sent = Date()
        process.terminate()
        process.waitUntilExit()
        #expect(Date().timeIntervalSince(sent) < 1.0)
        #expect(process.terminationStatus == 0)
        let errors = String(decoding: (process.standardError as! Pipe).fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(errors.contains("camera unavailable: /dev/video93"))
    }
}
