import CVBridge

/// An 8-bit image in memory: RGB (3 channels, the default everywhere) or gray (1 channel),
/// rows tightly packed, top row first. A value: copies are cheap until one is drawn on.
public struct Image: Sendable, Equatable {
    public let width: Int
    public let height: Int
    public let channels: Int
    /// `height` rows of `width * channels` bytes.
    public internal(set) var pixels: [UInt8]

    /// Wraps pixels you already have; throws if the count does not match the size.
    public init(width: Int, height: Int, channels: Int = 3, pixels: [UInt8]) throws(ImagingError) {
        guard width > 0, height > 0, channels == 1 || channels == 3 else {
            throw .invalidArgument("an image needs a positive size and 1 or 3 channels, got \(width)×\(height)×\(channels)")
        }
        guard pixels.count == width * height * channels else {
            throw .invalidArgument("\(width)×\(height)×\(channels) needs \(width * height * channels) bytes, got \(pixels.count)")
        }
        self.init(uncheckedWidth: width, height: height, channels: channels, pixels: pixels)
    }

    /// A uniform image, e.g. a canvas to draw on.
    public init(width: Int, height: Int, color: RGB) throws(ImagingError) {
        guard width > 0, height > 0 else { throw .invalidArgument("an image needs a positive size, got \(width)×\(height)") }
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for i in stride(from: 0, to: pixels.count, by: 3) {
            pixels[i] = color.red
            pixels[i + 1] = color.green
            pixels[i + 2] = color.blue
        }
        self.init(uncheckedWidth: width, height: height, channels: 3, pixels: pixels)
    }

    init(uncheckedWidth width: Int, height: Int, channels: Int, pixels: [UInt8]) {
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }

    /// The channel values of one pixel (RGB or a single gray value).
    public func pixel(x: Int, y: Int) -> [UInt8] {
        precondition(x >= 0 && x < width && y >= 0 && y < height, "pixel (\(x), \(y)) outside \(width)×\(height)")
        let start = (y * width + x) * channels
        return Array(pixels[start..<start + channels])
    }
}

/// A colour for drawing, in RGB.
public struct RGB: Sendable, Hashable {
    public var red: UInt8
    public var green: UInt8
    public var blue: UInt8

    public init(_ red: UInt8, _ green: UInt8, _ blue: UInt8) {
        self.red = red
        self.green = green
        self.blue = blue
    }

    public static let black = RGB(0, 0, 0)
    public static let white = RGB(255, 255, 255)
    public static let red = RGB(230, 40, 40)
    public static let green = RGB(40, 200, 70)
    public static let yellow = RGB(250, 210, 40)
    public static let blue = RGB(50, 120, 240)
    public static let gray = RGB(128, 128, 128)
}

/// The formats the bridge reads and writes.
public enum ImageFormat: String, Sendable, CaseIterable {
    case jpeg, png, bmp, webp, tiff

    init?(_ format: cvb_image_format) {
        switch format {
        case CVB_FORMAT_JPEG: self = .jpeg
        case CVB_FORMAT_PNG: self = .png
        case CVB_FORMAT_BMP: self = .bmp
        case CVB_FORMAT_WEBP: self = .webp
        case CVB_FORMAT_TIFF: self = .tiff
        default: return nil
        }
    }

    var bridged: cvb_image_format {
        switch self {
        case .jpeg: CVB_FORMAT_JPEG
        case .png: CVB_FORMAT_PNG
        case .bmp: CVB_FORMAT_BMP
        case .webp: CVB_FORMAT_WEBP
        case .tiff: CVB_FORMAT_TIFF
        }
    }

    /// The format a file name's extension asks for, if it is one of ours.
    public init?(pathExtensionOf path: String) {
        guard let dot = path.lastIndex(of: "."), !path[dot...].contains("/") else { return nil }
        switch path[path.index(after: dot)...].lowercased() {
        case "jpg", "jpeg": self = .jpeg
        case "png": self = .png
        case "bmp": self = .bmp
        case "webp": self = .webp
        case "tif", "tiff": self = .tiff
        default: return nil
        }
    }
}

/// Checked before any decoder runs, so a hostile or absurd file is refused cheaply.
public struct DecodeLimits: Sendable, Hashable {
    /// Largest file accepted, in bytes.
    public var maxFileBytes: Int
    /// Largest width × height the header may declare.
    public var maxPixels: Int

    public init(maxFileBytes: Int = 64 << 20, maxPixels: Int = 40_000_000) {
        self.maxFileBytes = maxFileBytes
        self.maxPixels = maxPixels
    }

    /// 64 MiB and 40 megapixels: every phone photo, no decompression bomb.
    public static let standard = DecodeLimits()

    var bridged: cvb_decode_limits {
        cvb_decode_limits(max_file_bytes: UInt64(max(maxFileBytes, 1)), max_pixels: UInt64(max(maxPixels, 1)))
    }
}

/// What an image's header declares, read without decoding.
public struct ImageHeader: Sendable, Hashable {
    public var format: ImageFormat
    public var width: Int
    public var height: Int
}

extension Image {
    /// Decodes a JPEG, PNG, BMP, WebP or TIFF file to RGB, honouring its EXIF orientation.
    public static func decode(file path: String, limits: DecodeLimits = .standard) throws(ImagingError) -> Image {
        var handle: OpaquePointer?
        var bridged = limits.bridged
        try Bridge.call(path) { cvb_decode_file(path, &bridged, &handle, $0) }
        guard let handle else { throw .internalFailure(path, detail: "decoder returned no image") }
        return Bridge.take(handle)
    }

    /// Decodes an image held in memory; `name` is used in error messages.
    public static func decode(
        bytes: [UInt8], name: String = "image data", limits: DecodeLimits = .standard
    ) throws(ImagingError) -> Image {
        var handle: OpaquePointer?
        var bridged = limits.bridged
        try bytes.withUnsafeBufferPointer { buffer throws(ImagingError) in
            try Bridge.call(name) { cvb_decode_memory(buffer.baseAddress, buffer.count, &bridged, &handle, $0) }
        }
        guard let handle else { throw .internalFailure(name, detail: "decoder returned no image") }
        return Bridge.take(handle)
    }

    /// Reads only the header of encoded bytes: format and declared size.
    public static func probe(bytes: [UInt8], name: String = "image data") throws(ImagingError) -> ImageHeader {
        var format = CVB_FORMAT_UNKNOWN
        var width: Int32 = 0, height: Int32 = 0
        try bytes.withUnsafeBufferPointer { buffer throws(ImagingError) in
            try Bridge.call(name) { cvb_probe_memory(buffer.baseAddress, buffer.count, &format, &width, &height, $0) }
        }
        guard let known = ImageFormat(format) else { throw .unsupportedFormat(name, detail: "unknown format") }
        return ImageHeader(format: known, width: Int(width), height: Int(height))
    }
}
