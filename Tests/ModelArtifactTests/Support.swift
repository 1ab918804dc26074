import Foundation
import ModelArtifact

/// Files written by scripts/make_artifact_fixtures.py with the `safetensors` library.
enum Fixtures {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    static func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    static func bytes(_ name: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: folder.appendingPathComponent(name))) }

    /// The value the fixture script stores at flat index `i`.
    static func ramp(_ i: Int) -> Float { Float(i) / 8 - 1 }
}

/// A scratch folder removed when the test ends.
final class ScratchFolder {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("artifact-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    @discardableResult
    func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        let target = path(name)
        try Data(bytes).write(to: URL(fileURLWithPath: target))
        return target
    }
}

/// Builds safetensors bytes by hand: the length field (the header's own length unless
/// `length` overrides it), the header text, then `data`.
func safetensorsBytes(header: String, data: [UInt8], length: UInt64? = nil) -> [UInt8] {
    let text = Array(header.utf8)
    let n = length ?? UInt64(text.count)
    return (0..<8).map { UInt8((n >> (8 * UInt64($0))) & 0xFF) } + text + data
}

/// Little-endian bytes of Float32 values.
func floatBytes(_ values: [Float]) -> [UInt8] {
    values.flatMap { v in (0..<4).map { UInt8((v.bitPattern >> (8 * UInt32($0))) & 0xFF) } }
}

/// Which case an error is, without its payload, so tests can say which failure they expect.
enum ErrorKind: Equatable {
    case cannotOpen, notARegularFile, emptyFile, truncated, headerTooLarge, malformedHeader, invalidTensor
    case overlappingTensors, uncoveredBytes, unsupportedDType, mapFailed, missingTensor, shapeMismatch
    case unexpectedTensors, nonFiniteValue

    init(_ error: ArtifactError) {
        switch error {
        case .cannotOpen: self = .cannotOpen
        case .notARegularFile: self = .notARegularFile
        case .emptyFile: self = .emptyFile
        case .truncated: self = .truncated
        case .headerTooLarge: self = .headerTooLarge
        case .malformedHeader: self = .malformedHeader
        case .invalidTensor: self = .invalidTensor
        case .overlappingTensors: self = .overlappingTensors
        case .uncoveredBytes: self = .uncoveredBytes
        case .unsupportedDType: self = .unsupportedDType
        case .mapFailed: self = .mapFailed
        case .missingTensor: self = .missingTensor
        case .shapeMismatch: self = .shapeMismatch
        case .unexpectedTensors: self = .unexpectedTensors
        case .nonFiniteValue: self = .nonFiniteValue
        }
    }
}

/// Opens `path` expecting a failure; returns the error, or nil (with the test failing) if it opened.
func openFailure(_ path: String, options: SafetensorsOptions = SafetensorsOptions()) -> ArtifactError? {
    do {
        _ = try SafetensorsFile(path: path, options: options)
        return nil
    } catch {
        return error
    }
}
