import CVBridge

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension Image {
    /// The image encoded as `format`. `quality` applies to JPEG and WebP (0–100).
    public func encoded(as format: ImageFormat, quality: Int = 90) throws(ImagingError) -> [UInt8] {
        var handle: OpaquePointer?
        try withView { view throws(ImagingError) in
            try Bridge.call("encode \(format.rawValue)") { cvb_encode(view, format.bridged, Int32(quality), &handle, $0) }
        }
        guard let handle else { throw .internalFailure("encode", detail: "encoder returned no data") }
        defer { cvb_buffer_free(handle) }
        return [UInt8](UnsafeBufferPointer(start: cvb_buffer_data(handle), count: cvb_buffer_size(handle)))
    }

    /// Writes the image to `path` in the format its extension names (.png, .jpg, .bmp, .webp, .tiff).
    public func write(to path: String, quality: Int = 90) throws(ImagingError) {
        guard let format = ImageFormat(pathExtensionOf: path) else {
            throw .encodingFailed(path, detail: "unknown image extension; use .png, .jpg, .bmp, .webp or .tiff")
        }
        let bytes = try encoded(as: format, quality: quality)
        do {
            try Data(bytes).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw .encodingFailed(path, detail: "cannot write the file: \(error)")
        }
    }
}
