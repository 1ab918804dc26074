import Foundation
@testable import Imaging
import TestSupport
import Testing

@Suite("Decoding")
struct DecodeTests {
    @Test("PNG decodes to exactly the pixels cv2 reads")
    func pngMatchesPython() throws {
        let image = try Fixtures.scene()
        #expect(image.width == 123)
        #expect(image.height == 97)
        #expect(image.channels == 3)
        #expect(image.pixels == (try Fixtures.bytes("scene_png_decoded.rgb")))
    }

    @Test("JPEG decodes to exactly the pixels cv2 reads")
    func jpegMatchesPython() throws {
        let image = try Image.decode(file: Fixtures.path("scene.jpg"))
        #expect(image.pixels == (try Fixtures.bytes("scene_jpg_decoded.rgb")))
    }

    @Test("A PNG's eXIf orientation (6: turned a quarter clockwise) is applied as cv2 applies it")
    func pngExifOrientation() throws {
        // The fuzz seed: a 30×20 picture with an eXIf chunk (big-endian, orientation 6) before its
        // image data. The same bytes without the chunk are the picture as stored.
        let path = Fixtures.folder.appendingPathComponent("../../../fuzz/corpus/cvbridge/exif-orientation.png").path
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let type = Array("eXIf".utf8)
        let at = try #require((0...(bytes.count - 4)).first { Array(bytes[$0..<$0 + 4]) == type })
        let length = bytes[(at - 4)..<at].reduce(0) { $0 << 8 | Int($1) }
        let stripped = Array(bytes[..<(at - 4)] + bytes[(at + 4 + length + 4)...])
        let stored = try Image.decode(bytes: stripped, name: "stored")
        let turned = try Image.decode(bytes: bytes, name: "turned")
        #expect((stored.width, stored.height) == (30, 20))
        #expect((turned.width, turned.height) == (20, 30))
        // cv::transpose then cv::flip(…, 1): row r, column c comes from row height-1-c, column r.
        for r in 0..<turned.height {
            for c in 0..<turned.width {
                let from = ((stored.height - 1 - c) * stored.width + r) * 3
                let to = (r * turned.width + c) * 3
                #expect(Array(turned.pixels[to..<to + 3]) == Array(stored.pixels[from..<from + 3]))
            }
        }
    }

    @Test("Decoding from memory gives what decoding the file gives")
    func memoryMatchesFile() throws {
        for name in ["scene.png", "scene.jpg"] {
            let fromMemory = try Image.decode(bytes: try Fixtures.bytes(name), name: name)
            #expect(fromMemory == (try Image.decode(file: Fixtures.path(name))))
        }
    }

    @Test("Lossless formats round-trip exactly", arguments: [ImageFormat.png, .bmp, .tiff])
    func losslessRoundTrip(format: ImageFormat) throws {
        let scene = try Fixtures.scene()
        let bytes = try scene.encoded(as: format)
        #expect(try Image.probe(bytes: bytes) == ImageHeader(format: format, width: 123, height: 97))
        #expect(try Image.decode(bytes: bytes) == scene)
    }

    @Test("Lossy formats round-trip closely", arguments: [ImageFormat.jpeg, .webp])
    func lossyRoundTrip(format: ImageFormat) throws {
        let scene = try Fixtures.scene()
        let bytes = try scene.encoded(as: format, quality: 95)
        #expect(try Image.probe(bytes: bytes) == ImageHeader(format: format, width: 123, height: 97))
        let decoded = try Image.decode(bytes: bytes)
        #expect(decoded.width == 123 && decoded.height == 97)
        // The fixture carries ±20 noise on purpose, which costs a lossy codec about 11 levels on average.
        let meanError = zip(decoded.pixels, scene.pixels).reduce(0.0) { $0 + abs(Double($1.0) - Double($1.1)) }
            / Double(scene.pixels.count)
        #expect(meanError < 14, "mean absolute error \(meanError) after \(format) at quality 95")
    }

    @Test("Grayscale files decode to three equal channels")
    func grayscaleFileIsRGB() throws {
        let folder = try ScratchFolder()
        let gray = try Fixtures.scene().grayscale()
        let path = folder.path("gray.png")
        try gray.write(to: path)
        let decoded = try Image.decode(file: path)
        #expect(decoded.channels == 3)
        #expect(decoded.pixel(x: 7, y: 9) == [gray.pixel(x: 7, y: 9)[0], gray.pixel(x: 7, y: 9)[0], gray.pixel(x: 7, y: 9)[0]])
    }

    @Test("A large image within the limits decodes; the same image over the pixel limit is refused")
    func largeImageLimits() throws {
        let folder = try ScratchFolder()
        let big = try Image(width: 4000, height: 3000, color: RGB(10, 20, 30))
        let path = folder.path("big.png")
        try big.write(to: path)
        let decoded = try Image.decode(file: path)
        #expect(decoded.width == 4000 && decoded.height == 3000)
        #expect(decoded.pixel(x: 3999, y: 2999) == [10, 20, 30])
        #expect(throws: ImagingError.self) { try Image.decode(file: path, limits: DecodeLimits(maxPixels: 10_000_000)) }
    }
}

@Suite("Bad input")
struct BadInputTests {
    /// Every failure must name the file, so a person knows which one to fix.
    private func expectError(
        _ path: String, limits: DecodeLimits = .standard, sourceLocation: SourceLocation = #_sourceLocation,
        matching check: (ImagingError) -> Bool
    ) {
        do {
            let image = try Image.decode(file: path, limits: limits)
            Issue.record("\(path) decoded to \(image.width)×\(image.height) but should have failed", sourceLocation: sourceLocation)
        } catch {
            #expect(check(error), "unexpected error: \(error)", sourceLocation: sourceLocation)
            #expect(error.description.contains(path), "message does not name the file: \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test func missingFile() {
        expectError("/nonexistent/street.jpg") { if case .notFound = $0 { true } else { false } }
    }

    @Test func emptyFile() throws {
        let folder = try ScratchFolder()
        let path = try folder.write("empty.jpg", [])
        expectError(path) { $0 == .emptyFile(path) }
    }

    @Test func folderInsteadOfFile() throws {
        let folder = try ScratchFolder()
        expectError(folder.url.path) { if case .unreadable = $0 { true } else { false } }
    }

    @Test func textFileWithImageName() throws {
        let folder = try ScratchFolder()
        let path = try folder.write("notes.png", Array("these are not pixels\n".utf8))
        expectError(path) { if case .unsupportedFormat = $0 { true } else { false } }
    }

    @Test("Truncated files are refused, never half-decoded", arguments: [ImageFormat.jpeg, .png, .bmp, .webp])
    func truncated(format: ImageFormat) throws {
        let folder = try ScratchFolder()
        let bytes = try Fixtures.scene().encoded(as: format, quality: 90)
        for fraction in [0.9, 0.5, 0.1] {
            let path = try folder.write("cut-\(fraction).\(format.rawValue)", Array(bytes.prefix(Int(Double(bytes.count) * fraction))))
            expectError(path) {
                switch $0 {
                case .truncated, .corrupt: true
                default: false
                }
            }
        }
    }

    @Test("A truncated TIFF is refused")
    func truncatedTIFF() throws {
        let folder = try ScratchFolder()
        let bytes = try Fixtures.scene().encoded(as: .tiff)
        let path = try folder.write("cut.tiff", Array(bytes.prefix(bytes.count / 2)))
        expectError(path) {
            switch $0 {
            case .truncated, .corrupt: true
            default: false
            }
        }
    }

    @Test("A header declaring a gigapixel image is refused before decoding")
    func decompressionBomb() throws {
        let folder = try ScratchFolder()
        var png = try Fixtures.scene().encoded(as: .png)
        // IHDR width and height live at bytes 16..<24; declare 60000 × 60000.
        let side: [UInt8] = [0x00, 0x00, 0xEA, 0x60]
        png.replaceSubrange(16..<20, with: side)
        png.replaceSubrange(20..<24, with: side)
        let path = try folder.write("bomb.png", png)
        expectError(path) { if case .tooManyPixels = $0 { true } else { false } }
    }

    @Test func fileOverTheSizeLimit() throws {
        expectError(Fixtures.path("scene.png"), limits: DecodeLimits(maxFileBytes: 1000)) {
            if case .fileTooLarge = $0 { true } else { false }
        }
    }

    @Test("A PNG that declares an empty image is corrupt")
    func zeroSizedHeader() throws {
        let folder = try ScratchFolder()
        var png = try Fixtures.scene().encoded(as: .png)
        png.replaceSubrange(16..<20, with: [0, 0, 0, 0])
        let path = try folder.write("zero.png", png)
        expectError(path) { if case .corrupt = $0 { true } else { false } }
    }

    @Test("Damaged bytes anywhere never crash the decoder", arguments: [ImageFormat.jpeg, .png, .bmp, .webp, .tiff])
    func mutationsNeverCrash(format: ImageFormat) throws {
        let original = try Fixtures.scene().encoded(as: format, quality: 80)
        var generator = SplitMix64(seed: 42)
        for _ in 0..<150 {
            var bytes = original
            for _ in 0..<1 + Int(generator.next() % 8) {
                let at = Int(generator.next() % UInt64(bytes.count))
                bytes[at] = UInt8(truncatingIfNeeded: generator.next())
            }
            do {
                let image = try Image.decode(bytes: bytes, name: "mutant")
                #expect(image.width > 0 && image.height > 0)
                #expect(image.pixels.count == image.width * image.height * 3)
            } catch {
                #expect(error.description.hasPrefix("mutant:"))
            }
        }
    }
}
