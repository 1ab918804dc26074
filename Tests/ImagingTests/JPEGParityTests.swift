import Foundation
import Testing
@testable import Imaging

/// JPEGs are decoded through libjpeg by the bridge itself (to refuse corrupt data); the pixels
/// must stay exactly what cv2.imread(IMREAD_COLOR) gives, which the model was trained and
/// evaluated on: every sample, and the paths a photo can take through the decoder (colour,
/// grey, CMYK, EXIF orientation). References: scripts/make_imaging_fixtures.py.
@Suite("JPEG parity with OpenCV")
struct JPEGParityTests {
    struct Reference: Decodable {
        var width: Int
        var height: Int
        var crc32: UInt32
    }

    static func references() throws -> [String: Reference] {
        try JSONDecoder().decode([String: Reference].self, from: Data(contentsOf: Fixtures.folder.appendingPathComponent("jpeg_decoded.json")))
    }

    static let repository = Fixtures.folder.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// zlib's CRC-32, as Python's zlib.crc32 computes it.
    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        let table: [UInt32] = (0..<256).map { n in
            (0..<8).reduce(UInt32(n)) { c, _ in c & 1 == 1 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        }
        var crc: UInt32 = 0xFFFF_FFFF
        bytes.withUnsafeBufferPointer { buffer in
            for byte in buffer { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        }
        return crc ^ 0xFFFF_FFFF
    }

    @Test("The checksum is zlib's")
    func checksum() {
        #expect(Self.crc32(Array("123456789".utf8)) == 0xCBF4_3926)
    }

    @Test("Every sample and fixture JPEG decodes to the pixels cv2.imread gives, EXIF orientation applied")
    func samplesMatchOpenCV() throws {
        let references = try Self.references()
        #expect(references.keys.filter { $0.hasPrefix("samples/") }.count >= 16)
        #expect(references.keys.contains("Tests/ImagingTests/Fixtures/jpeg/orientation-6.jpg"))
        for (file, reference) in references.sorted(by: { $0.key < $1.key }) {
            let image = try Image.decode(file: Self.repository.appendingPathComponent(file).path)
            #expect(image.width == reference.width && image.height == reference.height && image.channels == 3, "\(file)")
            #expect(Self.crc32(image.pixels) == reference.crc32, "\(file): pixels differ from cv2's")
        }
    }
}
