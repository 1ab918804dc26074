import Foundation
import Imaging
import Testing

/// OpenCV's image codecs and video I/O are in libCVMedia.so, which CVBridge loads on first use
/// (Sources/CVBridge/MediaPlugin.h): their ~240 shared libraries cost about 60 MB of memory in
/// every process that maps them. These runs watch the dynamic loader (LD_DEBUG=files lists every
/// object it maps, at start and by dlopen) and the messages when the plugin cannot be found.
@Suite("media plugin")
struct MediaPluginTests {
    static let jpeg = Programs.repository.appendingPathComponent("samples/images/00_pedestrian_red_street.jpg").path
    static let png = Programs.fixture("scene.png")
    static let mediaLibraries = ["libCVMedia.so", "libopencv_imgcodecs", "libopencv_videoio"]

    static func folder() throws -> URL {
        try DescribeTests.temporaryFolder()
    }

    /// Runs `listen` with the dynamic loader's trace of the files it maps written into `folder`
    /// (a pipe would fill and stall the run); returns the run and the trace.
    static func traced(_ arguments: [String], in folder: URL) throws -> (run: ProgramRun, trace: String) {
        let prefix = folder.appendingPathComponent("ld-trace")
        let run = try Programs.run("listen", arguments, environment: ["LD_DEBUG": "files", "LD_DEBUG_OUTPUT": prefix.path])
        let traces = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasPrefix("ld-trace.") }
        let trace = try traces.map { try String(contentsOf: folder.appendingPathComponent($0), encoding: .utf8) }.joined()
        return (run, trace)
    }

    /// A BMP, which only OpenCV's decoders (the plugin) read.
    static func bmp(in folder: URL) throws -> String {
        let path = folder.appendingPathComponent("scene.bmp").path
        let bytes = try Image.decode(file: png).encoded(as: .bmp)
        FileManager.default.createFile(atPath: path, contents: Data(bytes))
        return path
    }

    @Test("Describing a JPEG (the model's PNG known-answer frames included) maps neither libCVMedia.so nor OpenCV's codecs or video I/O")
    func jpegOnlyRunMapsNoMedia() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let (run, trace) = try Self.traced(["describe", Self.jpeg], in: folder)
        #expect(run.status == 0, "\(run.errors)")
        #expect(run.output.contains("00_pedestrian_red_street.jpg:"), "\(run.output)")
        // The loader's trace is there: the libraries listen does link are in it.
        #expect(trace.contains("file=libopencv_core"), "no LD_DEBUG trace: \(trace.prefix(2000))")
        for library in Self.mediaLibraries {
            #expect(!trace.contains(library), "\(library) was mapped")
        }
    }

    @Test("A BMP loads libCVMedia.so from listen's own folder, and with it OpenCV's codecs")
    func bmpLoadsThePlugin() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let bmp = try Self.bmp(in: folder)
        let (run, trace) = try Self.traced(["inspect", bmp], in: folder)
        #expect(run.status == 0, "\(run.errors)")
        #expect(run.output.contains("scene.bmp: image 123×97"), "\(run.output)")
        let plugin = Programs.folder.appendingPathComponent("libCVMedia.so").resolvingSymlinksInPath().path
        #expect(trace.contains("file=\(plugin)"), "not loaded from \(plugin)")
        #expect(trace.contains("file=libopencv_imgcodecs"))
    }

    @Test("Without libCVMedia.so, BMP and video fail with a message that names it, where it was looked for and why; JPEG and PNG still decode")
    func missingPlugin() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let bmp = try Self.bmp(in: folder)
        let video = folder.appendingPathComponent("walk.avi").path
        FileManager.default.createFile(atPath: video, contents: Data("RIFF, or so it says".utf8))
        let missing = folder.appendingPathComponent("gone/libCVMedia.so").path
        let run = try Programs.run(
            "listen", ["inspect", Self.jpeg, Self.png, bmp, video], environment: ["LTTW_MEDIA_LIBRARY": missing])
        #expect(run.status == 1, "\(run.errors)")
        #expect(run.output.contains("00_pedestrian_red_street.jpg: image 360×640"), "\(run.output)")
        #expect(run.output.contains("scene.png: image 123×97"), "\(run.output)")
        for input in [bmp, video] {
            let expected = "\(input): video files, cameras, BMP, WebP and TIFF images and image encoding need libCVMedia.so; "
                + "it could not be loaded from LTTW_MEDIA_LIBRARY=\(missing): \(missing): cannot open shared object file"
            #expect(run.errors.contains(expected), "\(run.errors)")
        }
        #expect(run.errors.contains("listen: 2 input(s) failed."), "\(run.errors)")
    }

    @Test("A binary with no libCVMedia.so beside it says to install it there, and where it looked")
    func pluginNotBesideTheBinary() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let listen = folder.appendingPathComponent("listen")
        try FileManager.default.copyItem(at: Programs.folder.appendingPathComponent("listen"), to: listen)
        let bmp = try Self.bmp(in: folder)
        let alone = try Programs.run(executable: listen, ["inspect", bmp, Self.jpeg])
        #expect(alone.status == 1, "\(alone.errors)")
        #expect(alone.output.contains("00_pedestrian_red_street.jpg: image 360×640"), "\(alone.output)")
        let realFolder = listen.resolvingSymlinksInPath().deletingLastPathComponent().path
        #expect(alone.errors.contains("install it next to the binary (\(realFolder)/) or set LTTW_MEDIA_LIBRARY to its path. Tried: \(realFolder)/libCVMedia.so: cannot open shared object file"), "\(alone.errors)")
        #expect(alone.errors.contains("(library search path)"), "\(alone.errors)")

        // Installed beside it, as the README's deploy steps do, it is found.
        try FileManager.default.copyItem(
            at: Programs.folder.appendingPathComponent("libCVMedia.so"), to: folder.appendingPathComponent("libCVMedia.so"))
        let installed = try Programs.run(executable: listen, ["inspect", bmp])
        #expect(installed.status == 0, "\(installed.errors)")
        #expect(installed.output.contains("scene.bmp: image 123×97"), "\(installed.output)")
    }

    @Test("A library that is not the plugin is refused by name, not called")
    func notThePlugin() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let bmp = try Self.bmp(in: folder)
        let run = try Programs.run("listen", ["inspect", bmp], environment: ["LTTW_MEDIA_LIBRARY": "libz.so.1"])
        #expect(run.status == 1, "\(run.errors)")
        #expect(run.errors.contains("LTTW_MEDIA_LIBRARY=libz.so.1: libz.so.1: no cvm_media_table table (not a CVMedia plugin)"), "\(run.errors)")
    }
}
