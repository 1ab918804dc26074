import CVBridge

/// One picture from a camera or video, with the time it was taken.
public struct Frame: Sendable {
    public var image: Image
    /// Seconds: presentation time for video files, time since opening for cameras.
    public var timestamp: Double
    /// Position in the stream, counting skipped frames.
    public var index: Int

    public init(image: Image, timestamp: Double, index: Int) {
        self.image = image
        self.timestamp = timestamp
        self.index = index
    }
}

/// Where frames come from.
public enum FrameInput: Sendable, Hashable, CustomStringConvertible {
    /// A video file (any container and codec Debian's OpenCV/FFmpeg reads).
    case videoFile(String)
    /// A V4L2 camera by device path, e.g. /dev/video0.
    case cameraDevice(String)
    /// A V4L2 camera by index, as in /dev/video<index>.
    case cameraIndex(Int)

    /// "0" → camera 0, "/dev/video2" → that device, anything else → a video file.
    public init(parsing text: String) {
        if let index = Int(text), index >= 0 {
            self = .cameraIndex(index)
        } else if text.hasPrefix("/dev/") {
            self = .cameraDevice(text)
        } else {
            self = .videoFile(text)
        }
    }

    public var description: String {
        switch self {
        case .videoFile(let path): path
        case .cameraDevice(let path): path
        case .cameraIndex(let index): "camera \(index)"
        }
    }

    public var isCamera: Bool {
        if case .videoFile = self { return false }
        return true
    }
}

/// What a camera is asked for; it may pick the nearest mode it supports. Zero keeps its default.
public struct CaptureSettings: Sendable, Hashable {
    public var width: Int
    public var height: Int
    public var fps: Double

    public init(width: Int = 0, height: Int = 0, fps: Double = 0) {
        self.width = width
        self.height = height
        self.fps = fps
    }
}

/// Reads frames from a video file or a camera. One owner at a time: not shared between threads.
public final class FrameSource {
    public let input: FrameInput
    /// Frame size and rate as the source reports them (fps 0 when unknown).
    public let width: Int
    public let height: Int
    public let fps: Double
    /// Number of frames in a video file; nil for cameras or when the container does not say.
    public let frameCount: Int?

    private let handle: OpaquePointer
    private var nextIndex = 0

    public init(_ input: FrameInput, settings: CaptureSettings = CaptureSettings()) throws(ImagingError) {
        var opened: OpaquePointer?
        let subject = input.description
        switch input {
        case .videoFile(let path):
            try Bridge.call(subject) { cvb_video_open_file(path, &opened, $0) }
        case .cameraDevice(let path):
            try Bridge.call(subject) {
                cvb_video_open_camera(path, 0, Int32(clamping: settings.width), Int32(clamping: settings.height), settings.fps, &opened, $0)
            }
        case .cameraIndex(let index):
            try Bridge.call(subject) {
                cvb_video_open_camera(nil, Int32(clamping: index), Int32(clamping: settings.width), Int32(clamping: settings.height), settings.fps, &opened, $0)
            }
        }
        guard let opened else { throw .internalFailure(subject, detail: "no video handle") }
        var width: Int32 = 0, height: Int32 = 0, fps = 0.0, count: Int64 = -1
        cvb_video_info(opened, &width, &height, &fps, &count)
        self.input = input
        self.handle = opened
        self.width = Int(width)
        self.height = Int(height)
        self.fps = fps
        self.frameCount = count > 0 ? Int(count) : nil
    }

    deinit { cvb_video_close(handle) }

    /// The next frame. Throws `.endOfStream` at the end of a file and `.deviceLost` when a camera goes away.
    public func next() throws(ImagingError) -> Frame {
        var image: OpaquePointer?
        var milliseconds = 0.0
        try Bridge.call(input.description) { cvb_video_read(handle, &image, &milliseconds, $0) }
        guard let image else { throw .internalFailure(input.description, detail: "no frame") }
        defer { nextIndex += 1 }
        return Frame(image: Bridge.take(image), timestamp: milliseconds / 1000, index: nextIndex)
    }

    /// Drops the next frame without converting it (to keep up with a fast camera or sample a video).
    public func skip() throws(ImagingError) {
        try Bridge.call(input.description) { cvb_video_skip(handle, $0) }
        nextIndex += 1
    }
}

/// Writes frames to a video file: used by tests, tools and overlay videos.
public final class VideoWriter {
    public let path: String
    public let width: Int
    public let height: Int
    private var handle: OpaquePointer?

    /// `codec` is a FourCC: "MJPG" (any OpenCV build) or "FFV1" (lossless, through FFmpeg).
    public init(path: String, codec: String = "MJPG", fps: Double, width: Int, height: Int) throws(ImagingError) {
        var opened: OpaquePointer?
        try Bridge.call(path) { cvb_video_writer_open(path, codec, fps, Int32(width), Int32(height), &opened, $0) }
        self.path = path
        self.width = width
        self.height = height
        self.handle = opened
    }

    deinit { cvb_video_writer_close(handle) }

    public func write(_ image: Image) throws(ImagingError) {
        guard let handle else { throw .encodingFailed(path, detail: "the writer is already closed") }
        try image.withView { view throws(ImagingError) in
            try Bridge.call(path) { cvb_video_writer_write(handle, view, $0) }
        }
    }

    /// Finishes the file; further writes fail.
    public func close() {
        cvb_video_writer_close(handle)
        handle = nil
    }
}
