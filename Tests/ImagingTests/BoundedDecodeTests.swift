import Foundation
import Testing
@testable import Imaging

/// Inputs that made the decoder work for minutes or accept an image its data does not hold
/// (issue 15, items 7 and 10), and one the fuzzer found.
@Suite("Bounded decoding")
struct BoundedDecodeTests {
    /// The fuzz seeds (fuzz/corpus/cvbridge): a small progressive JPEG, and the TIFF the fuzzer
    /// found, kept there as a regression seed.
    static func seed(_ name: String) throws -> [UInt8] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("fuzz/corpus/cvbridge/\(name)")
        return [UInt8](try Data(contentsOf: url))
    }

    /// The offset of the last start-of-scan marker of a JPEG.
    static func lastScan(_ bytes: [UInt8]) -> Int? {
        stride(from: bytes.count - 2, through: 2, by: -1).first { bytes[$0] == 0xFF && bytes[$0 + 1] == 0xDA }
    }

    @Test("A progressive JPEG with 20,000 scans is refused at once, naming the scan count")
    func manyScans() throws {
        let original = try Self.seed("progressive.jpg")
        #expect(try Image.decode(bytes: original).width == 32)
        let scan = try #require(Self.lastScan(original))
        #expect(Array(original.suffix(2)) == [0xFF, 0xD9])
        let piece = original[scan..<(original.count - 2)]
        var bomb = Array(original.prefix(original.count - 2))
        bomb.reserveCapacity(bomb.count + piece.count * 20_000 + 2)
        for _ in 0..<20_000 { bomb.append(contentsOf: piece) }
        bomb += [0xFF, 0xD9]
        let started = Date()
        #expect {
            _ = try Image.decode(bytes: bomb, name: "bomb.jpg")
        } throws: { error in
            guard case ImagingError.corrupt(let name, let detail) = error else { return false }
            return name == "bomb.jpg" && detail.contains("more than 100 scans")
        }
        #expect(Date().timeIntervalSince(started) < 2)
    }

    @Test("A JPEG whose header declares far more pixels than its data holds is corrupt, not grey-filled")
    func lyingHeader() throws {
        var bytes = try Fixtures.bytes("scene.jpg")
        let frame = try #require((2..<(bytes.count - 9)).first { bytes[$0] == 0xFF && (bytes[$0 + 1] == 0xC0 || bytes[$0 + 1] == 0xC2) })
        bytes.replaceSubrange((frame + 5)..<(frame + 9), with: [0x17, 0x70, 0x17, 0x70])  // 6000 × 6000
        #expect(try Image.probe(bytes: bytes) == ImageHeader(format: .jpeg, width: 6000, height: 6000))
        #expect {
            _ = try Image.decode(bytes: bytes, name: "lying.jpg")
        } throws: { error in
            guard case ImagingError.corrupt(_, let detail) = error else { return false }
            return detail.contains("declares 6000×6000 pixels") && detail.contains("bytes of image data")
        }
    }

    @Test("Every fixture and sample image still decodes")
    func realImagesPass() throws {
        let samples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("samples/images")
        let names = try FileManager.default.contentsOfDirectory(atPath: samples.path).filter { $0.hasSuffix(".jpg") }
        #expect(names.count >= 10)
        for name in names {
            #expect(try Image.decode(file: samples.appendingPathComponent(name).path).width > 0, "\(name)")
        }
        #expect(try Image.decode(file: Fixtures.path("scene.jpg")).width == 123)
    }

    @Test("A TIFF that gives its width twice is refused: the probe and libtiff would read different sizes (found by fuzzing)")
    func duplicateTIFFWidth() throws {
        let bytes = try Self.seed("regression-tiff-duplicate-width.tiff")
        #expect {
            _ = try Image.probe(bytes: bytes, name: "twice.tiff")
        } throws: { error in
            guard case ImagingError.corrupt(_, let detail) = error else { return false }
            return detail.contains("gives the image width twice")
        }
    }
}
