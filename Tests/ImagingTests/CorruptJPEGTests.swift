import Foundation
import Testing
@testable import Imaging

/// JPEGs whose compressed data libjpeg finds damaged (issue 15): OpenCV printed libjpeg's warning
/// and returned the picture with grey or smeared blocks; the bridge now refuses them, naming the
/// file and libjpeg's reason. Each input passes the container walk in ImageHeader.cpp (the
/// markers are in place and the data is long enough), so only libjpeg can tell.
@Suite("Corrupt JPEG data")
struct CorruptJPEGTests {
    /// A real JPEG: the 123×97 fixture, baseline, written by cv2 at quality 90.
    static func original() throws -> [UInt8] { try Fixtures.bytes("scene.jpg") }

    /// Where the entropy-coded data of the (only) scan starts and where it ends (at EOI).
    static func scanData(_ bytes: [UInt8]) throws -> Range<Int> {
        let sos = try #require((2..<(bytes.count - 1)).first { bytes[$0] == 0xFF && bytes[$0 + 1] == 0xDA })
        let length = Int(bytes[sos + 2]) << 8 | Int(bytes[sos + 3])
        #expect(Array(bytes.suffix(2)) == [0xFF, 0xD9])
        return (sos + 2 + length)..<(bytes.count - 2)
    }

    /// The damaged variants, each with the words libjpeg uses for it. Also the fuzz seeds
    /// fuzz/corpus/cvbridge/corrupt-*.jpg.
    static func damaged() throws -> [(name: String, bytes: [UInt8], libjpeg: String)] {
        let bytes = try original()
        let scan = try scanData(bytes)
        // Cut in the middle of the scan and closed with an end-of-image marker, as a copy that
        // lost its tail and was patched by a careless tool.
        let cut = Array(bytes[..<(scan.lowerBound + scan.count / 2)]) + [0xFF, 0xD9]
        // Sixteen bytes of garbage between the last scan and the end-of-image marker.
        let garbage = Array(bytes[..<scan.upperBound]) + [UInt8](repeating: 0x5A, count: 16) + [0xFF, 0xD9]
        // A run of 1-bits (stuffed 0xFF 0x00 pairs) near the end of the scan: no Huffman code is
        // all ones, so the decoder meets a code that does not exist.
        var huffman = bytes
        let at = scan.upperBound - 64
        huffman.replaceSubrange(at..<(at + 16), with: [UInt8](repeating: 0, count: 16).indices.map { $0 % 2 == 0 ? 0xFF : 0x00 })
        return [
            ("corrupt-premature-end.jpg", cut, "Corrupt JPEG data: premature end of data segment"),
            ("corrupt-extraneous-bytes.jpg", garbage, "extraneous bytes before marker 0xd9"),
            ("corrupt-bad-huffman.jpg", huffman, "Corrupt JPEG data: bad Huffman code"),
        ]
    }

    @Test("Each damaged JPEG is refused with the file's name and libjpeg's reason, from a file and from memory")
    func refused() throws {
        let folder = try ScratchFolder()
        for (name, bytes, reason) in try Self.damaged() {
            #expect(try Image.probe(bytes: bytes) == ImageHeader(format: .jpeg, width: 123, height: 97), "\(name)")
            let path = try folder.write(name, bytes)
            for fromFile in [true, false] {
                do {
                    let image = fromFile ? try Image.decode(file: path) : try Image.decode(bytes: bytes, name: path)
                    Issue.record("\(name) decoded to \(image.width)×\(image.height)")
                } catch {
                    guard case .corruptJPEGData(let subject, let message) = error else {
                        Issue.record("\(name): \(error)")
                        continue
                    }
                    #expect(subject == path)
                    #expect(message.contains(reason), "\(name): \(message)")
                    #expect(error.description == "\(path): corrupt JPEG data (libjpeg: \(message))")
                }
            }
        }
    }

    @Test("The damaged JPEGs are in the decode fuzz target's seeds, byte for byte")
    func fuzzSeeds() throws {
        for (name, bytes, _) in try Self.damaged() {
            #expect(try BoundedDecodeTests.seed(name) == bytes, "fuzz/corpus/cvbridge/\(name) differs from what the test makes")
        }
    }
}
