import CVBridge

/// How a frame becomes the model's input tensor; read from the model's config.json.
///
/// The recipe is the training code's, step for step: resize the RGB image to
/// `inputSize`×`inputSize` with OpenCV (squash, no letterbox), then per channel
/// `(u8 / 255 - mean) / std` in float32, planar (CHW). Both sides run OpenCV 4.6, so the
/// tensor is bit-identical to what the model saw in training.
public struct Preprocessing: Sendable, Hashable {
    public var inputSize: Int
    public var interpolation: Interpolation
    public var mean: [Float]
    public var std: [Float]

    public init(inputSize: Int, interpolation: Interpolation = .area, mean: [Float], std: [Float]) {
        self.inputSize = inputSize
        self.interpolation = interpolation
        self.mean = mean
        self.std = std
    }

    /// Number of floats in one tensor: channels × size × size.
    public var tensorCount: Int { mean.count * inputSize * inputSize }

    /// Writes the tensor for `image` into `output` (at least `tensorCount` floats).
    ///
    /// With a `scratch` (one per stream), frames of a size seen before allocate nothing: the
    /// shrinking area resize runs in the scratch's memory, byte for byte as cv::resize computes
    /// it (CVBridge keeps a copy of OpenCV 4.6's INTER_AREA arithmetic, because cv::resize
    /// allocates its tables and row buffers on every call). Without one, cv::resize does it.
    public func write(
        _ image: Image, into output: UnsafeMutableBufferPointer<Float>, scratch: PreprocessingScratch? = nil
    ) throws(ImagingError) {
        let base = try validated(image, output)
        let memory = scratch?.handle
        try image.withView { view throws(ImagingError) in
            try mean.withUnsafeBufferPointer { mean throws(ImagingError) in
                try std.withUnsafeBufferPointer { std throws(ImagingError) in
                    try Bridge.call("preprocess") {
                        cvb_preprocess(
                            view, Int32(inputSize), interpolation.bridged, mean.baseAddress, std.baseAddress,
                            base, output.count, memory, $0)
                    }
                }
            }
        }
    }

    /// The output's base address, once the recipe, the image's channels and the output's size
    /// are known to fit.
    private func validated(_ image: Image, _ output: UnsafeMutableBufferPointer<Float>) throws(ImagingError) -> UnsafeMutablePointer<Float> {
        guard inputSize > 0, mean.count == std.count, !mean.isEmpty else {
            throw .invalidArgument("preprocessing needs a positive size and one mean and std per channel")
        }
        guard image.channels == mean.count else {
            throw .invalidArgument("preprocessing expects \(mean.count)-channel images, got \(image.channels)")
        }
        guard output.count >= tensorCount, let base = output.baseAddress else {
            throw .invalidArgument("preprocessing output holds \(output.count) floats, needs \(tensorCount)")
        }
        return base
    }

    /// Whether `write(_:into:rows:scratch:)` can do this image in row ranges, one per thread:
    /// when the bridge's own area resize does it (a shrinking or same-size `.area` resize).
    public func splitsByRows(_ image: Image) -> Bool {
        guard inputSize > 0, image.channels == mean.count else { return false }
        return image.withView { view in cvb_preprocess_splits(view, Int32(inputSize), interpolation.bridged) == 1 }
    }

    /// Writes the output rows `rows` (of `inputSize`, every channel) of the tensor for `image`, as
    /// `write(_:into:scratch:)` would: for several threads sharing one image, each with its own
    /// scratch. Only when `splitsByRows(image)`.
    public func write(
        _ image: Image, into output: UnsafeMutableBufferPointer<Float>, rows: Range<Int>, scratch: PreprocessingScratch
    ) throws(ImagingError) {
        let base = try validated(image, output)
        let memory = scratch.handle
        try image.withView { view throws(ImagingError) in
            try mean.withUnsafeBufferPointer { mean throws(ImagingError) in
                try std.withUnsafeBufferPointer { std throws(ImagingError) in
                    try Bridge.call("preprocess") {
                        cvb_preprocess_rows(
                            view, Int32(inputSize), interpolation.bridged, mean.baseAddress, std.baseAddress,
                            base, output.count, Int32(rows.lowerBound), Int32(rows.upperBound), memory, $0)
                    }
                }
            }
        }
    }

    /// The tensor for `image` as a new array (CHW).
    public func tensor(from image: Image) throws(ImagingError) -> [Float] {
        var tensor = [Float](repeating: 0, count: tensorCount)
        try tensor.withUnsafeMutableBufferPointer { buffer throws(ImagingError) in
            try write(image, into: buffer)
        }
        return tensor
    }
}

/// Preprocessing's working memory for one stream (the resized pixels, the resize's tables),
/// sized at creation for inputs up to `inputSize` and source images up to `maxSide` pixels a
/// side (about 400 KB at the default); a larger image grows it once. Not for sharing between
/// threads.
public final class PreprocessingScratch {
    let handle: OpaquePointer

    public init(inputSize: Int = 224, maxSide: Int = 4096) {
        guard let handle = cvb_scratch_create(Int32(clamping: inputSize), Int32(clamping: maxSide)) else {
            fatalError("PreprocessingScratch: out of memory")
        }
        self.handle = handle
    }

    deinit { cvb_scratch_free(handle) }
}
