import Foundation
import ModelArtifact
import Testing

/// The loader's CRC-32 must be zlib's, bit for bit: lttw.artifact records `zlib.crc32` of the
/// weights in config.json and the loader compares.
@Suite("CRC-32 as zlib computes it")
struct CRC32Tests {
    @Test("The check value of \"123456789\", a buffer that is not a multiple of eight, and an empty one")
    func knownValues() {
        func crc(_ bytes: [UInt8]) -> UInt32 { bytes.withUnsafeBytes { CRC32.checksum($0) } }
        #expect(crc(Array("123456789".utf8)) == 0xCBF4_3926)
        // zlib.crc32(bytes(range(256)) * 3 + b"abc"): the eight-byte steps and the byte tail.
        #expect(crc((0..<3).flatMap { _ in (0..<256).map(UInt8.init) } + Array("abc".utf8)) == 0x9D3A_9924)
        #expect(crc([]) == 0)
    }

    @Test("A safetensors file's CRC-32 is zlib.crc32 of its bytes")
    func wholeFile() throws {
        let file = try SafetensorsFile(path: Fixtures.path("small.safetensors"))
        #expect(file.crc32 == 0x4582_FB10)
    }
}
