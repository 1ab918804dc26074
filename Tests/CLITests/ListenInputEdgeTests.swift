import Foundation
import Imaging
import Testing

/// What `listen` says about inputs a careless or hostile folder holds (issue 15, item 10): each
/// was misreported before (non-UTF-8 names as missing, unreadable subfolders skipped silently,
/// newlines printed raw, a FIFO called empty, a truncated AVI's header count as fact, a JPEG
/// with damaged data read as a picture).
@Suite("listen input edges")
struct ListenInputEdgeTests {
    static func folder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("edges-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static let sample = Programs.repository.appendingPathComponent("samples/images/00_pedestrian_red_street.jpg")

    /// The red sample at a quarter of its size: a frame the model reads, small enough to write fast.
    static func smallSample() throws -> Image {
        try Image.decode(file: sample.path).resized(width: 160, height: 284)
    }

    /// An MJPEG AVI at 10 fps of `count` copies of `frame`.
    static func writeVideo(_ path: String, frame: Image, count: Int) throws {
        let writer = try VideoWriter(path: path, codec: "MJPG", fps: 10, width: frame.width, height: frame.height)
        for _ in 0..<count { try writer.write(frame) }
        writer.close()
    }

    /// Runs `listen` through the shell, so that arguments can hold bytes a Swift String cannot.
    static func shell(_ script: String) throws -> ProgramRun {
        try Programs.run(executable: URL(fileURLWithPath: "/bin/sh"), ["-c", script, Programs.folder.appendingPathComponent("listen").path])
    }

    @Test("A JPEG libjpeg finds corrupt is refused with its reason, in a folder and as an argument; the good one beside it is read")
    func corruptJPEGData() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let corrupt = folder.appendingPathComponent("damaged.jpg")
        try FileManager.default.copyItem(
            at: Programs.repository.appendingPathComponent("fuzz/corpus/cvbridge/corrupt-bad-huffman.jpg"), to: corrupt)
        try FileManager.default.copyItem(at: Self.sample, to: folder.appendingPathComponent("good.jpg"))
        let run = try Programs.run("listen", ["inspect", folder.path, corrupt.path])
        #expect(run.status == 1, "\(run.errors)")
        let message = "\(corrupt.path): corrupt JPEG data (libjpeg: Corrupt JPEG data: bad Huffman code)"
        #expect(run.errors.components(separatedBy: message).count == 3, "\(run.errors)")
        #expect(run.output.contains("good.jpg: image 360×640"), "\(run.output)")
    }

    @Test("A file name that is not UTF-8 is reported as such, in a folder and as an argument, never as missing")
    func nonUTF8Names() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let quoted = "'\(folder.path)'"
        let run = try Self.shell("cp '\(Self.sample.path)' \(quoted)/\"$(printf 'red\\377.jpg')\" && \"$0\" inspect \(quoted) \(quoted)/\"$(printf 'red\\377.jpg')\"")
        #expect(run.status == 1, "\(run.errors)")
        let message = "\(folder.path)/red\\xFF.jpg: the file name is not valid UTF-8"
        #expect(run.errors.components(separatedBy: message).count == 3, "\(run.errors)")
        #expect(!run.errors.contains("no such file"), "\(run.errors)")
    }

    @Test("A name holding a newline is printed escaped, on one line")
    func newlineNames() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.copyItem(at: Self.sample, to: folder.appendingPathComponent("a.jpg: Walk signal on.\nb.jpg"))
        let run = try Programs.run("listen", ["describe", folder.path])
        #expect(run.status == 0, "\(run.errors)")
        let lines = run.output.split(separator: "\n")
        #expect(lines.count == 1, "\(run.output)")
        #expect(lines.first?.hasPrefix("\(folder.path)/a.jpg: Walk signal on.\\nb.jpg: ") == true, "\(run.output)")
    }

    @Test("A FIFO named like a video is 'not a regular file', in a folder and as an argument, and nothing blocks")
    func fifoVideo() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let fifo = folder.appendingPathComponent("walk.mp4").path
        #expect(mkfifo(fifo, 0o644) == 0)
        try FileManager.default.copyItem(at: Self.sample, to: folder.appendingPathComponent("red.jpg"))
        for arguments in [["inspect", folder.path], ["inspect", fifo], ["describe", fifo]] {
            let run = try Programs.run("listen", arguments)
            #expect(run.status == 1, "\(arguments): \(run.errors)")
            #expect(run.errors.contains("\(fifo): is not a regular file but a named pipe (FIFO)"), "\(arguments): \(run.errors)")
            #expect(!run.errors.contains("empty"), "\(arguments): \(run.errors)")
        }
    }

    @Test("A subfolder that cannot be listed is reported, not skipped")
    func unreadableSubfolder() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let locked = folder.appendingPathComponent("locked")
        try FileManager.default.createDirectory(at: locked, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: Self.sample, to: locked.appendingPathComponent("red.jpg"))
        try FileManager.default.copyItem(at: Self.sample, to: folder.appendingPathComponent("red.jpg"))
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: folder.path)
        try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: locked.path)
        // Root reads every folder: run as nobody, so that the 0700 folder is really unreadable.
        let asOther = getuid() == 0 ? "setpriv --reuid=65534 --regid=65534 --clear-groups " : ""
        if getuid() != 0 { try FileManager.default.setAttributes([.posixPermissions: 0o000], ofItemAtPath: locked.path) }
        defer { try? FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: locked.path) }
        let run = try Self.shell("\(asOther)\"$0\" inspect '\(folder.path)'")
        #expect(run.status == 1, "\(run.errors)")
        #expect(run.output.contains("\(folder.path)/red.jpg: image"), "\(run.output) \(run.errors)")
        #expect(run.errors.contains("\(locked.path): cannot list the folder (Permission denied); its files are not read"), "\(run.errors)")
    }

    @Test("A truncated AVI's frame count is called an estimate; a whole one's is stated")
    func truncatedVideo() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let whole = folder.appendingPathComponent("whole.avi").path
        try Self.writeVideo(whole, frame: try Image(width: 64, height: 48, color: .gray), count: 200)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: whole))
        let cut = folder.appendingPathComponent("cut.avi").path
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: cut))
        let run = try Programs.run("listen", ["inspect", whole, cut])
        #expect(run.status == 0, "\(run.errors)")
        #expect(run.output.contains("\(whole): video 64×48, 10.00 fps, 200 frames\n"), "\(run.output)")
        #expect(run.output.contains("\(cut): video 64×48, 10.00 fps, about 200 frames (the container's count; frame 200 cannot be read, so the file may be truncated)"), "\(run.output)")
    }

    @Test("A truncated video is narrated as far as it reads, and the run says it ended early, exit 1")
    func truncatedVideoDescribed() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let whole = folder.appendingPathComponent("whole.avi").path
        try Self.writeVideo(whole, frame: try Self.smallSample(), count: 40)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: whole))
        let cut = folder.appendingPathComponent("cut.avi").path
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: cut))
        let run = try Programs.run("listen", ["describe", "--every", "2", whole, cut])
        #expect(run.status == 1, "\(run.errors)")
        #expect(run.output.contains("\(cut) 0:00.0: Wait."), "\(run.output)")
        #expect(!run.errors.contains("\(whole):"), "\(run.errors)")
        #expect(run.errors.contains("\(cut): the video ended after "), "\(run.errors)")
        #expect(run.errors.contains(" of the 40 frames its header declares (truncated or damaged?)"), "\(run.errors)")
    }

    @Test("A header rate of 1/4294967295 fps neither stretches the video's clock nor fills the WAV with silence")
    func implausibleFrameRate() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("slow.avi").path
        try Self.writeVideo(path, frame: try Self.smallSample(), count: 6)
        // The stream header's dwScale and dwRate (rate / scale = fps), and the main header's
        // microseconds per frame, as a damaged file would have them.
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        func put(_ value: UInt32, at offset: Int) {
            for k in 0..<4 { bytes[offset + k] = UInt8(truncatingIfNeeded: value >> (8 * UInt32(k))) }
        }
        func find(_ tag: String) throws -> Int {
            let t = Array(tag.utf8)
            return try #require((0..<(bytes.count - 4)).first { Array(bytes[$0..<($0 + 4)]) == t })
        }
        let strh = try find("strh"), avih = try find("avih")
        put(0xFFFF_FFFF, at: strh + 28)
        put(1, at: strh + 32)
        put(0xFFFF_FFFF, at: avih + 8)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let wav = folder.appendingPathComponent("slow.wav").path
        let run = try Programs.run("listen", ["describe", "--wav", wav, path])
        #expect(run.status == 0, "\(run.errors)")
        #expect(run.output.contains("\(path) 0:00.0: Wait."), "\(run.output)")
        let size = try #require(try FileManager.default.attributesOfItem(atPath: wav)[.size] as? Int)
        #expect(size < 2_000_000, "\(size) bytes of WAV for six frames")
    }

    @Test("A symbolic link to a folder is followed; one back into a folder already read is reported, not looped")
    func symbolicLinkFolders() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let elsewhere = try Self.folder()
        defer { try? FileManager.default.removeItem(at: elsewhere) }
        try FileManager.default.copyItem(at: Self.sample, to: elsewhere.appendingPathComponent("linked.jpg"))
        try FileManager.default.copyItem(at: Self.sample, to: folder.appendingPathComponent("real.jpg"))
        try FileManager.default.createSymbolicLink(at: folder.appendingPathComponent("sub"), withDestinationURL: elsewhere)
        try FileManager.default.createSymbolicLink(at: folder.appendingPathComponent("loop"), withDestinationURL: folder)
        let run = try Programs.run("listen", ["inspect", folder.path])
        #expect(run.status == 1, "\(run.errors)")
        #expect(run.output.contains("\(folder.path)/real.jpg: image"), "\(run.output)")
        #expect(run.output.contains("\(folder.path)/sub/linked.jpg: image"), "\(run.output)")
        #expect(run.errors.contains("\(folder.path)/loop: links back to a folder already read; not followed again"), "\(run.errors)")
        #expect(run.output.split(separator: "\n").count == 2, "\(run.output)")
    }

    @Test("inspect refuses limits that are not numbers or out of range, instead of trapping")
    func inspectLimits() throws {
        for arguments in [["--max-megapixels", "nan"], ["--max-megapixels", "inf"], ["--max-megabytes", "1e300"], ["--max-megabytes", "0"]] {
            let run = try Programs.run("listen", ["inspect"] + arguments + [Self.sample.path])
            #expect(run.status == 64, "\(arguments): \(run.status) \(run.errors)")
            #expect(run.errors.contains(arguments[0] + " must be a number above 0"), "\(arguments): \(run.errors)")
        }
    }
}
