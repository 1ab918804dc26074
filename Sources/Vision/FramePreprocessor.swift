import Imaging
import Kernels

/// One stream's preprocessing of whole frames into a model input, split by output rows across
/// the kernel lanes when the resize allows it. The scene model and the obstacle expert each
/// squash the full frame (often over a million pixels) to their own size: done on one thread,
/// that read is a serial stretch of every frame.
///
/// Each lane has its own scratch, so a frame no larger than one seen before allocates nothing.
/// Not for sharing between streams.
public final class FramePreprocessor {
    public let preprocessing: Preprocessing
    /// One per kernel lane at creation.
    private let scratches: [PreprocessingScratch]
    /// A lane's failure, read back on the calling thread after the lanes meet.
    private let errors: UnsafeMutableBufferPointer<ImagingError?>

    public init(_ preprocessing: Preprocessing) {
        self.preprocessing = preprocessing
        scratches = (0..<max(1, Parallel.lanes)).map { _ in PreprocessingScratch(inputSize: preprocessing.inputSize) }
        errors = .allocate(capacity: scratches.count)
        errors.initialize(repeating: nil)
    }

    deinit {
        errors.deinitialize()
        errors.deallocate()
    }

    /// Writes the tensor for `image` into `output`, exactly as `Preprocessing.write` does: in row
    /// ranges across the lanes when there are several and the bridge's own area resize applies,
    /// else on the calling thread.
    public func write(_ image: Image, into output: UnsafeMutableBufferPointer<Float>) throws(ImagingError) {
        guard Parallel.lanes > 1, Parallel.lanes <= scratches.count, preprocessing.splitsByRows(image) else {
            try preprocessing.write(image, into: output, scratch: scratches[0])
            return
        }
        Parallel.run(Work(preprocessor: self, image: image, output: output))
        for lane in errors.indices {
            if let error = errors[lane] {
                for other in errors.indices { errors[other] = nil }
                throw error
            }
        }
    }

    /// Writes the tensor for `image` into `output` on the calling thread alone (for a lane that
    /// shares the frame's other work).
    public func writeOnThisThread(_ image: Image, into output: UnsafeMutableBufferPointer<Float>) throws(ImagingError) {
        try preprocessing.write(image, into: output, scratch: scratches[0])
    }

    private struct Work: ParallelWork {
        let preprocessor: FramePreprocessor
        let image: Image
        let output: UnsafeMutableBufferPointer<Float>

        func run(_ lane: Lane) {
            let size = preprocessor.preprocessing.inputSize
            // More lanes than scratches (the lanes were raised after the stream was made): lane 0
            // does every row.
            let split = lane.count <= preprocessor.scratches.count
            guard split || lane.index == 0 else { return }
            do {
                try preprocessor.preprocessing.write(
                    image, into: output, rows: split ? lane.part(size) : 0..<size, scratch: preprocessor.scratches[lane.index])
            } catch {
                preprocessor.errors[lane.index] = error
            }
        }
    }
}
