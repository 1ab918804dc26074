import CVBridge

/// The one place that calls into CVBridge and turns its status codes into `ImagingError`.
enum Bridge {
    /// Calls a bridge function with a fresh error record and throws if it failed.
    @inline(__always)
    static func call(
        _ subject: @autoclosure () -> String,
        _ body: (UnsafeMutablePointer<cvb_error>) -> cvb_status
    ) throws(ImagingError) {
        var record = cvb_error()
        let status = body(&record)
        if status != CVB_OK { throw error(status, message(of: &record), subject: subject()) }
    }

    static func message(of record: inout cvb_error) -> String {
        withUnsafeBytes(of: &record.message) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
    }

    static func error(_ status: cvb_status, _ message: String, subject: String) -> ImagingError {
        switch status {
        case CVB_ERR_NOT_FOUND: .notFound(subject)
        case CVB_ERR_UNREADABLE: .unreadable(subject, reason: message)
        case CVB_ERR_EMPTY: .emptyFile(subject)
        case CVB_ERR_FILE_TOO_LARGE: .fileTooLarge(subject, detail: message)
        case CVB_ERR_TOO_MANY_PIXELS: .tooManyPixels(subject, detail: message)
        case CVB_ERR_UNSUPPORTED: .unsupportedFormat(subject, detail: message)
        case CVB_ERR_CORRUPT: .corrupt(subject, detail: message)
        case CVB_ERR_CORRUPT_DATA: .corruptJPEGData(subject, libjpeg: message)
        case CVB_ERR_TRUNCATED: .truncated(subject, detail: message)
        case CVB_ERR_ENCODE: .encodingFailed(subject, detail: message)
        case CVB_ERR_OPEN_VIDEO: .cannotOpenVideo(subject, detail: message)
        case CVB_ERR_END_OF_STREAM: .endOfStream(subject)
        case CVB_ERR_DEVICE_LOST: .deviceLost(subject, detail: message)
        case CVB_ERR_INVALID_ARGUMENT: .invalidArgument("\(subject): \(message)")
        case CVB_ERR_OUT_OF_MEMORY: .outOfMemory(subject)
        case CVB_ERR_MISSING_LIBRARY: .mediaLibraryMissing(subject, detail: message)
        default: .internalFailure(subject, detail: message)
        }
    }

    /// Copies a bridge-owned image into Swift-owned, tightly packed pixels and frees it.
    static func take(_ handle: OpaquePointer) -> Image {
        defer { cvb_image_free(handle) }
        let view = cvb_image_view(handle)
        let width = Int(view.width), height = Int(view.height), channels = Int(view.channels)
        let rowBytes = width * channels
        let pixels = [UInt8](unsafeUninitializedCapacity: rowBytes * height) { buffer, count in
            guard let source = view.data, let target = buffer.baseAddress else { count = 0; return }
            if view.stride == rowBytes {
                target.update(from: source, count: rowBytes * height)
            } else {
                for row in 0..<height {
                    (target + row * rowBytes).update(from: source + row * view.stride, count: rowBytes)
                }
            }
            count = rowBytes * height
        }
        return Image(uncheckedWidth: width, height: height, channels: channels, pixels: pixels)
    }
}

extension Image {
    /// Lends the pixels to C as a read-only view. The bridge never writes through input views.
    @inline(__always)
    func withView<R, E: Error>(_ body: (UnsafePointer<cvb_view>) throws(E) -> R) throws(E) -> R {
        let result: Result<R, E> = pixels.withUnsafeBufferPointer { buffer in
            var view = cvb_view(
                data: UnsafeMutablePointer(mutating: buffer.baseAddress),
                width: Int32(width), height: Int32(height), channels: Int32(channels),
                stride: width * channels)
            do throws(E) { return .success(try body(&view)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    /// Lends the pixels to C as a writable view (drawing, resizing into).
    @inline(__always)
    mutating func withMutableView<R, E: Error>(_ body: (UnsafePointer<cvb_view>) throws(E) -> R) throws(E) -> R {
        let (w, h, c) = (width, height, channels)
        let result: Result<R, E> = pixels.withUnsafeMutableBufferPointer { buffer in
            var view = cvb_view(
                data: buffer.baseAddress, width: Int32(w), height: Int32(h), channels: Int32(c), stride: w * c)
            do throws(E) { return .success(try body(&view)) } catch { return .failure(error) }
        }
        return try result.get()
    }
}
