import Testing
@testable import Imaging

@Suite("Resizing and preprocessing match cv2 byte for byte")
struct TransformTests {
    @Test("Resize", arguments: [
        ("scene_area_40x30.rgb", 40, 30, Interpolation.area),
        ("scene_area_64x64.rgb", 64, 64, .area),
        ("scene_area_up_200x150.rgb", 200, 150, .area),
        ("scene_bilinear_50x61.rgb", 50, 61, .bilinear),
    ])
    func resize(fixture: String, width: Int, height: Int, interpolation: Interpolation) throws {
        let resized = try Fixtures.scene().resized(width: width, height: height, interpolation: interpolation)
        #expect(resized.width == width && resized.height == height)
        #expect(resized.pixels == (try Fixtures.bytes(fixture)))
    }

    @Test("The model's input tensor is bit-identical to numpy's")
    func preprocessBitIdentical() throws {
        let preprocessing = Preprocessing(inputSize: 32, interpolation: .area, mean: Fixtures.mean, std: Fixtures.std)
        let tensor = try preprocessing.tensor(from: try Fixtures.scene())
        let reference = try Fixtures.floats("scene_preprocess_32.f32")
        #expect(tensor.count == 3 * 32 * 32)
        #expect(tensor.map(\.bitPattern) == reference.map(\.bitPattern))
    }

    @Test("Preprocessing into a caller's buffer writes the same floats and nothing past them")
    func preprocessIntoBuffer() throws {
        let preprocessing = Preprocessing(inputSize: 32, mean: Fixtures.mean, std: Fixtures.std)
        var buffer = [Float](repeating: .nan, count: preprocessing.tensorCount + 5)
        try buffer.withUnsafeMutableBufferPointer { try preprocessing.write(try Fixtures.scene(), into: $0) }
        #expect(Array(buffer.prefix(preprocessing.tensorCount)) == (try Fixtures.floats("scene_preprocess_32.f32")))
        #expect(buffer.suffix(5).allSatisfy { $0.isNaN })
    }

    @Test("Preprocessing refuses a buffer that is too small or statistics that do not fit")
    func preprocessValidation() throws {
        let scene = try Fixtures.scene()
        var small = [Float](repeating: 0, count: 10)
        #expect(throws: ImagingError.self) {
            try small.withUnsafeMutableBufferPointer {
                try Preprocessing(inputSize: 32, mean: Fixtures.mean, std: Fixtures.std).write(scene, into: $0)
            }
        }
        #expect(throws: ImagingError.self) {
            try Preprocessing(inputSize: 32, mean: [0.5], std: [0.5]).tensor(from: scene)
        }
        #expect(throws: ImagingError.self) {
            try Preprocessing(inputSize: 32, mean: Fixtures.mean, std: [0.2, 0, 0.2]).tensor(from: scene)
        }
    }

    @Test func grayscaleMatchesPython() throws {
        let gray = try Fixtures.scene().grayscale()
        #expect(gray.channels == 1)
        #expect(gray.pixels == (try Fixtures.bytes("scene_gray.gray")))
        let back = try gray.rgb()
        #expect(back.channels == 3)
        #expect(back.pixel(x: 3, y: 4) == [gray.pixel(x: 3, y: 4)[0], gray.pixel(x: 3, y: 4)[0], gray.pixel(x: 3, y: 4)[0]])
    }

    @Test func crop() throws {
        let scene = try Fixtures.scene()
        let crop = try scene.cropped(to: PixelRect(x: 10, y: 20, width: 30, height: 15))
        #expect(crop.width == 30 && crop.height == 15)
        for (x, y) in [(0, 0), (29, 14), (7, 11)] {
            #expect(crop.pixel(x: x, y: y) == scene.pixel(x: 10 + x, y: 20 + y))
        }
        #expect(throws: ImagingError.self) { try scene.cropped(to: PixelRect(x: 100, y: 0, width: 30, height: 10)) }
        #expect(throws: ImagingError.self) { try scene.cropped(to: PixelRect(x: -1, y: 0, width: 3, height: 3)) }
    }

    @Test("Letterboxing keeps the aspect ratio, centres the image and pads the rest")
    func letterbox() throws {
        let scene = try Fixtures.scene()  // 123×97
        let (boxed, placement) = try scene.letterboxed(width: 64, height: 64, pad: RGB(1, 2, 3))
        #expect(boxed.width == 64 && boxed.height == 64)
        #expect(abs(placement.scale - 64.0 / 123.0) < 1e-9)
        #expect(placement.offsetX == 0)
        let placedHeight = Int((97.0 * placement.scale).rounded())
        #expect(placement.offsetY == (64 - placedHeight) / 2)
        #expect(boxed.pixel(x: 5, y: 0) == [1, 2, 3])
        #expect(boxed.pixel(x: 5, y: 63) == [1, 2, 3])
        let inner = try scene.resized(width: 64, height: placedHeight)
        let placed = try boxed.cropped(to: PixelRect(x: 0, y: placement.offsetY, width: 64, height: placedHeight))
        #expect(placed == inner)
    }

    @Test func badSizesAreRefused() throws {
        let scene = try Fixtures.scene()
        #expect(throws: ImagingError.self) { try scene.resized(width: 0, height: 10) }
        #expect(throws: ImagingError.self) { try scene.letterboxed(width: 10, height: -1) }
        #expect(throws: ImagingError.self) { try Image(width: 2, height: 2, pixels: [1, 2, 3]) }
    }
}

@Suite("Preprocessing with a scratch computes cv::resize's INTER_AREA byte for byte")
struct ExactAreaResizeTests {
    /// Noise (every rounding tie the tables can produce) or a smooth gradient.
    static func image(width: Int, height: Int, channels: Int, seed: UInt64, noise: Bool) throws -> Image {
        var state = seed
        var pixels = [UInt8](repeating: 0, count: width * height * channels)
        for y in 0..<height {
            for x in 0..<width {
                for c in 0..<channels {
                    let i = (y * width + x) * channels + c
                    if noise {
                        state &+= 0x9E37_79B9_7F4A_7C15
                        var z = state
                        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
                        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
                        pixels[i] = UInt8(truncatingIfNeeded: z ^ (z >> 31))
                    } else {
                        pixels[i] = UInt8((x * 255 / max(width - 1, 1) + y * 3 + c * 40) % 256)
                    }
                }
            }
        }
        return try Image(width: width, height: height, channels: channels, pixels: pixels)
    }

    @Test("Whole, fractional, mixed and unit scale factors; 1 and 3 channels; growth past the planned size", arguments: [
        (320, 240), (640, 480), (640, 640), (480, 640), (360, 640), (427, 640), (1280, 720), (161, 160), (160, 160),
        (320, 160), (161, 999), (1000, 333), (4800, 161), (100, 80), (150, 170),
    ])
    func matchesOpenCV(width: Int, height: Int) throws {
        let scratch = PreprocessingScratch(inputSize: 32, maxSide: 640)
        for channels in [3, 1] {
            for noise in [true, false] {
                let image = try Self.image(width: width, height: height, channels: channels, seed: UInt64(width * 7919 + height), noise: noise)
                for size in [160, 32, 7] {
                    let preprocessing = Preprocessing(
                        inputSize: size, mean: Array(Fixtures.mean.prefix(channels)), std: Array(Fixtures.std.prefix(channels)))
                    var reference = [Float](repeating: .nan, count: preprocessing.tensorCount)
                    var exact = [Float](repeating: .nan, count: preprocessing.tensorCount)
                    try reference.withUnsafeMutableBufferPointer { try preprocessing.write(image, into: $0) }
                    try exact.withUnsafeMutableBufferPointer { try preprocessing.write(image, into: $0, scratch: scratch) }
                    let differing = zip(exact, reference).filter { $0.bitPattern != $1.bitPattern }.count
                    #expect(differing == 0,
                            "\(width)x\(height)x\(channels) to \(size), \(noise ? "noise" : "gradient"): \(differing) values differ")
                    // In row ranges, each with its own scratch, as a stream's lanes do it.
                    let shrinks = width >= size && height >= size
                    #expect(preprocessing.splitsByRows(image) == shrinks)
                    if shrinks {
                        var split = [Float](repeating: .nan, count: preprocessing.tensorCount)
                        let cuts = [0, size / 3, size / 3 + 1, size]
                        try split.withUnsafeMutableBufferPointer { buffer in
                            for part in 0..<(cuts.count - 1) {
                                try preprocessing.write(image, into: buffer, rows: cuts[part]..<cuts[part + 1],
                                                        scratch: PreprocessingScratch(inputSize: 8, maxSide: 16))
                            }
                        }
                        let differingSplit = zip(split, reference).filter { $0.bitPattern != $1.bitPattern }.count
                        #expect(differingSplit == 0, "\(width)x\(height)x\(channels) to \(size) in rows: \(differingSplit) values differ")
                    }
                }
            }
        }
    }

    @Test("The cv2 fixture tensor comes out of the scratch path too")
    func fixture() throws {
        let preprocessing = Preprocessing(inputSize: 32, interpolation: .area, mean: Fixtures.mean, std: Fixtures.std)
        var tensor = [Float](repeating: .nan, count: preprocessing.tensorCount)
        try tensor.withUnsafeMutableBufferPointer {
            try preprocessing.write(try Fixtures.scene(), into: $0, scratch: PreprocessingScratch())
        }
        let reference = try Fixtures.floats("scene_preprocess_32.f32")
        #expect(zip(tensor, reference).filter { $0.bitPattern != $1.bitPattern }.isEmpty && tensor.count == reference.count)
    }
}
