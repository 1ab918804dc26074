/// Everything that can go wrong between a file, a camera or a buffer and the pixels.
///
/// Each case names the thing it is about (a file path, a device, or a name the caller gave
/// a buffer) so that a message can be shown to a person as it is.
public enum ImagingError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file or device does not exist.
    case notFound(String)
    /// It exists but cannot be read: a folder, missing permissions, an I/O error.
    case unreadable(String, reason: String)
    /// Zero bytes.
    case emptyFile(String)
    /// Larger than `DecodeLimits.maxFileBytes`.
    case fileTooLarge(String, detail: String)
    /// The header declares more pixels than `DecodeLimits.maxPixels` (a decompression bomb or a huge photo).
    case tooManyPixels(String, detail: String)
    /// Not a JPEG, PNG, BMP, WebP or TIFF image.
    case unsupportedFormat(String, detail: String)
    /// The header or pixel data is damaged.
    case corrupt(String, detail: String)
    /// libjpeg warned that the compressed data is damaged ("Corrupt JPEG data: …", "Premature end
    /// of JPEG file"). Decoders fill such damage with grey or smeared blocks and carry on; a
    /// scene read from those pixels could place a crossing or an obstacle that is not there, so
    /// the image is refused. The second value is libjpeg's own message.
    case corruptJPEGData(String, libjpeg: String)
    /// The data ends before the image does.
    case truncated(String, detail: String)
    /// Encoding or writing an image or a video failed.
    case encodingFailed(String, detail: String)
    /// A video file or a camera could not be opened.
    case cannotOpenVideo(String, detail: String)
    /// A video file has no more frames.
    case endOfStream(String)
    /// A camera stopped delivering frames or vanished.
    case deviceLost(String, detail: String)
    /// A caller passed something impossible (a crop outside the image, a zero size).
    case invalidArgument(String)
    case outOfMemory(String)
    /// libCVMedia.so, which holds OpenCV's codecs and video I/O and is loaded on first use, cannot
    /// be loaded: video files, cameras, BMP, WebP and TIFF images and encoding need it (JPEGs and
    /// PNGs do not). The detail says where it was looked for and why each place failed.
    case mediaLibraryMissing(String, detail: String)
    /// An OpenCV failure nobody foresaw; the detail carries OpenCV's own text.
    case internalFailure(String, detail: String)

    public var description: String {
        switch self {
        case .notFound(let subject): "\(subject): no such file or device"
        case .unreadable(let subject, let reason): "\(subject): \(reason)"
        case .emptyFile(let subject): "\(subject): the file is empty (0 bytes)"
        case .fileTooLarge(let subject, let detail): "\(subject): file too large: \(detail)"
        case .tooManyPixels(let subject, let detail): "\(subject): image too large: \(detail)"
        case .unsupportedFormat(let subject, let detail): "\(subject): \(detail)"
        case .corrupt(let subject, let detail): "\(subject): corrupt image: \(detail)"
        case .corruptJPEGData(let subject, let message): "\(subject): corrupt JPEG data (libjpeg: \(message))"
        case .truncated(let subject, let detail): "\(subject): truncated image: \(detail)"
        case .encodingFailed(let subject, let detail): "\(subject): \(detail)"
        case .cannotOpenVideo(let subject, let detail): "\(subject): \(detail)"
        case .endOfStream(let subject): "\(subject): end of video"
        case .deviceLost(let subject, let detail): "\(subject): camera lost: \(detail)"
        case .invalidArgument(let detail): "invalid argument: \(detail)"
        case .outOfMemory(let subject): "\(subject): out of memory"
        case .mediaLibraryMissing(let subject, let detail): "\(subject): \(detail)"
        case .internalFailure(let subject, let detail): "\(subject): \(detail)"
        }
    }
}
