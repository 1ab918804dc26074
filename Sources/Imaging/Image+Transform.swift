import CVBridge

/// How pixels are resampled. `area` averages the covered source pixels: the right choice when
/// shrinking, and what the model's preprocessing uses.
public enum Interpolation: String, Sendable, Codable, CaseIterable {
    case area
    case bilinear
    case nearest

    var bridged: cvb_interpolation {
        switch self {
        case .area: CVB_INTERP_AREA
        case .bilinear: CVB_INTERP_BILINEAR
        case .nearest: CVB_INTERP_NEAREST
        }
    }
}

/// A rectangle in pixel coordinates, origin top-left.
public struct PixelRect: Sendable, Hashable {
    public var x: Int
    public var y: Int
    public var width: Int
    public var height: Int

    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }
}

/// Where a letterboxed image landed, to map coordinates back to the original.
public struct LetterboxPlacement: Sendable, Hashable {
    public var scale: Double
    public var offsetX: Int
    public var offsetY: Int
}

extension Image {
    /// A copy resized to `width`×`height` (aspect ratio not kept).
    public func resized(width: Int, height: Int, interpolation: Interpolation = .area) throws(ImagingError) -> Image {
        guard width > 0, height > 0 else { throw .invalidArgument("resize to \(width)×\(height)") }
        var target = Image(
            uncheckedWidth: width, height: height, channels: channels,
            pixels: [UInt8](repeating: 0, count: width * height * channels))
        try withView { source throws(ImagingError) in
            try target.withMutableView { destination throws(ImagingError) in
                try Bridge.call("resize") { cvb_resize(source, destination, interpolation.bridged, $0) }
            }
        }
        return target
    }

    /// The pixels inside `rect`, which must lie within the image.
    public func cropped(to rect: PixelRect) throws(ImagingError) -> Image {
        guard rect.width > 0, rect.height > 0, rect.x >= 0, rect.y >= 0,
              rect.x + rect.width <= width, rect.y + rect.height <= height
        else {
            throw .invalidArgument("crop \(rect.width)×\(rect.height) at (\(rect.x), \(rect.y)) is outside the \(width)×\(height) image")
        }
        let rowBytes = rect.width * channels
        let pixels = [UInt8](unsafeUninitializedCapacity: rowBytes * rect.height) { buffer, count in
            self.pixels.withUnsafeBufferPointer { source in
                guard let from = source.baseAddress, let to = buffer.baseAddress else { return }
                for row in 0..<rect.height {
                    let start = ((rect.y + row) * width + rect.x) * channels
                    (to + row * rowBytes).update(from: from + start, count: rowBytes)
                }
            }
            count = rowBytes * rect.height
        }
        return Image(uncheckedWidth: rect.width, height: rect.height, channels: channels, pixels: pixels)
    }

    /// Fits the image inside `width`×`height` keeping its aspect ratio, centred on `pad`.
    public func letterboxed(
        width: Int, height: Int, pad: RGB = .black, interpolation: Interpolation = .area
    ) throws(ImagingError) -> (image: Image, placement: LetterboxPlacement) {
        guard width > 0, height > 0 else { throw .invalidArgument("letterbox to \(width)×\(height)") }
        var target = Image(
            uncheckedWidth: width, height: height, channels: channels,
            pixels: [UInt8](repeating: 0, count: width * height * channels))
        var scale = 0.0
        var offsetX: Int32 = 0, offsetY: Int32 = 0
        let padding = [pad.red, pad.green, pad.blue]
        try withView { source throws(ImagingError) in
            try target.withMutableView { destination throws(ImagingError) in
                try Bridge.call("letterbox") {
                    cvb_letterbox(source, destination, interpolation.bridged, padding, &scale, &offsetX, &offsetY, $0)
                }
            }
        }
        return (target, LetterboxPlacement(scale: scale, offsetX: Int(offsetX), offsetY: Int(offsetY)))
    }

    /// A one-channel copy (OpenCV's luma weights).
    public func grayscale() throws(ImagingError) -> Image {
        guard channels == 3 else { return self }
        return try converted(channels: 1)
    }

    /// A three-channel copy of a gray image.
    public func rgb() throws(ImagingError) -> Image {
        guard channels == 1 else { return self }
        return try converted(channels: 3)
    }

    private func converted(channels target: Int) throws(ImagingError) -> Image {
        var output = Image(
            uncheckedWidth: width, height: height, channels: target,
            pixels: [UInt8](repeating: 0, count: width * height * target))
        try withView { source throws(ImagingError) in
            try output.withMutableView { destination throws(ImagingError) in
                try Bridge.call("colour conversion") { cvb_convert_color(source, destination, $0) }
            }
        }
        return output
    }
}
