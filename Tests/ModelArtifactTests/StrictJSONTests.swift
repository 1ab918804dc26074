import Foundation
import Testing
@testable import ModelArtifact

@Suite("Strict JSON and regular files")
struct StrictJSONTests {
    static func parse(_ text: String) throws(StrictJSONError) -> JSONValue { try StrictJSON.parse(Array(text.utf8)) }

    @Test("Duplicate keys are refused with both lines, also when spelt differently but equal as Swift keys")
    func duplicates() throws {
        #expect(throws: StrictJSONError(line: 3, column: 3, problem: "duplicate key \"green\" (first at line 2); JSON readers disagree on which one counts, so neither is used")) {
            try Self.parse("{\n  \"green\": 0.99,\n  \"green\": 0.01\n}")
        }
        #expect(throws: StrictJSONError.self) { try Self.parse("{\"caf\\u00e9\": 1, \"cafe\\u0301\": 2}") }
        #expect(try Self.parse("{\"a\": {\"green\": 1}, \"b\": {\"green\": 2}}")["b"]?["green"] == .number("2"))
    }

    @Test("Numbers keep their text; what JSON forbids is refused with the place")
    func syntax() throws {
        #expect(try Self.parse("[192.5, 1e300, -0]") == .array([.number("192.5"), .number("1e300"), .number("-0")]))
        for bad in ["{\"a\": 01}", "[1,]", "{\"a\" 1}", "\"\u{01}\"", "[\"\\ud800\"]", "{} x", "[1e]", "NaN", "\"\\x\""] {
            #expect(throws: StrictJSONError.self, "\(bad)") { try Self.parse(bad) }
        }
        #expect(throws: StrictJSONError.self) { try StrictJSON.parse([0x22, 0xFF, 0x22]) }
        #expect(try Self.parse("\u{FEFF}{\"k\": \"\\ud83d\\ude00\"}")["k"] == .string("😀"))
    }

    @Test("Nesting deeper than the limit is refused without exhausting the stack")
    func depth() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: StrictJSONError.self) { try Self.parse(deep) }
    }

    @Test("A FIFO, a device or a folder is refused before any read; a regular file is read whole")
    func regularFiles() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("regular-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let fifo = folder.appendingPathComponent("config.json").path
        #expect(mkfifo(fifo, 0o644) == 0)
        #expect(throws: RegularFileError.notARegularFile(file: fifo, kind: "named pipe (FIFO)")) { try RegularFile.read(fifo, limit: 100) }
        #expect(throws: RegularFileError.notARegularFile(file: "/dev/zero", kind: "character device")) { try RegularFile.read("/dev/zero", limit: 100) }
        #expect(throws: RegularFileError.notARegularFile(file: folder.path, kind: "folder")) { try RegularFile.read(folder.path, limit: 100) }
        let file = folder.appendingPathComponent("a.json")
        try Data("{\"a\": 1}".utf8).write(to: file)
        #expect(try RegularFile.read(file.path, limit: 100) == Array("{\"a\": 1}".utf8))
        #expect(throws: RegularFileError.tooLarge(file: file.path, size: 8, limit: 4)) { try RegularFile.read(file.path, limit: 4) }
        #expect(throws: RegularFileError.missing(file: folder.appendingPathComponent("none").path)) {
            try RegularFile.read(folder.appendingPathComponent("none").path, limit: 4)
        }
    }

    @Test("A safetensors header naming one tensor twice is refused; so is a FIFO as the weights file")
    func safetensors() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("st-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let header = Array("{\"w\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}, \"w\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}}".utf8)
        let bytes = (0..<8).map { UInt8(truncatingIfNeeded: header.count >> (8 * $0)) } + header + [0, 0, 128, 63]
        let path = folder.appendingPathComponent("twice.safetensors").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        #expect {
            _ = try SafetensorsFile(path: path)
        } throws: { error in
            guard case ArtifactError.malformedHeader(_, let detail) = error else { return false }
            return detail.contains("duplicate key \"w\"")
        }
        let fifo = folder.appendingPathComponent("model.safetensors").path
        #expect(mkfifo(fifo, 0o644) == 0)
        #expect(throws: ArtifactError.notARegularFile(file: fifo, kind: "named pipe (FIFO)")) { _ = try SafetensorsFile(path: fifo) }
    }
}
