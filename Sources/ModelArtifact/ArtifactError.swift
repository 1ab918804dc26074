/// Why a model file could not be used. Every case names the file, and the tensor where there is
/// one, and its description says what is wrong and what to do, so the message can go to a user
/// unchanged.
public enum ArtifactError: Error, Equatable, CustomStringConvertible {
    /// `open(2)` failed: the file is missing, unreadable, or the path is wrong (`reason` is
    /// `strerror(errno)`).
    case cannotOpen(file: String, reason: String)
    /// The path is a folder, device or pipe, not a regular file.
    case notARegularFile(file: String, kind: String)
    /// The file has no bytes at all.
    case emptyFile(file: String)
    /// The file ends before what its header promises (an interrupted copy or download).
    case truncated(file: String, detail: String)
    /// The header length field is larger than any real header; likely not a safetensors file.
    case headerTooLarge(file: String, length: UInt64, limit: Int)
    /// The JSON header is not valid JSON or not shaped as safetensors requires.
    case malformedHeader(file: String, detail: String)
    /// A tensor's entry is inconsistent: negative or overflowing shape, offsets outside the data,
    /// byte size not matching the shape.
    case invalidTensor(file: String, tensor: String, detail: String)
    /// Two tensors claim the same bytes.
    case overlappingTensors(file: String, first: String, second: String)
    /// Bytes of the data section belong to no tensor, which the format forbids.
    case uncoveredBytes(file: String, start: Int, end: Int)
    /// A tensor's dtype is not one the engine computes with.
    case unsupportedDType(file: String, tensor: String, dtype: String)
    /// `mmap(2)` failed (`reason` is `strerror(errno)`).
    case mapFailed(file: String, reason: String)
    /// The model asked for a tensor the file does not have; `similar` lists names the file does
    /// have that look alike (a renamed module, a missing prefix).
    case missingTensor(file: String, tensor: String, similar: [String])
    /// A tensor's shape is not the one the model's config implies.
    case shapeMismatch(file: String, tensor: String, actual: [Int], expected: [Int])
    /// The file holds tensors the model never asked for: the config describes a smaller model
    /// than the weights, or names changed.
    case unexpectedTensors(file: String, names: [String])
    /// A weight is NaN or infinite (`value` as text, so the error stays `Equatable`): training
    /// diverged or the file is damaged, and every output would be garbage.
    case nonFiniteValue(file: String, tensor: String, index: Int, value: String)

    /// The file the error is about.
    public var file: String {
        switch self {
        case .cannotOpen(let f, _), .notARegularFile(let f, _), .emptyFile(let f), .truncated(let f, _),
             .headerTooLarge(let f, _, _), .malformedHeader(let f, _), .invalidTensor(let f, _, _),
             .overlappingTensors(let f, _, _), .uncoveredBytes(let f, _, _), .unsupportedDType(let f, _, _),
             .mapFailed(let f, _), .missingTensor(let f, _, _), .shapeMismatch(let f, _, _, _),
             .unexpectedTensors(let f, _), .nonFiniteValue(let f, _, _, _):
            return f
        }
    }

    public var description: String {
        switch self {
        case .cannotOpen(let file, let reason):
            return "\(file): cannot open (\(reason)); check the model folder path"
        case .notARegularFile(let file, let kind):
            return "\(file): is a \(kind), not a safetensors file; point at the .safetensors file itself"
        case .emptyFile(let file):
            return "\(file): the file is empty (0 bytes); the copy or export did not finish — export the model again"
        case .truncated(let file, let detail):
            return "\(file): truncated: \(detail); the file was cut short — copy or export it again"
        case .headerTooLarge(let file, let length, let limit):
            return "\(file): header length field says \(length) bytes, over the \(limit)-byte limit; this is not a safetensors file or it is corrupt"
        case .malformedHeader(let file, let detail):
            return "\(file): malformed safetensors header: \(detail)"
        case .invalidTensor(let file, let tensor, let detail):
            return "\(file): tensor '\(tensor)': \(detail); the file is corrupt or was not written by a safetensors writer"
        case .overlappingTensors(let file, let first, let second):
            return "\(file): tensors '\(first)' and '\(second)' overlap in the data section; the file is corrupt"
        case .uncoveredBytes(let file, let start, let end):
            return "\(file): data bytes \(start)..<\(end) belong to no tensor; the format forbids gaps (they can hide other content) — re-save with safetensors"
        case .unsupportedDType(let file, let tensor, let dtype):
            switch dtype {
            case "F16", "BF16":
                return "\(file): tensor '\(tensor)' is \(dtype); the engine computes in F32 — save the model after .float(), or open with convertHalfPrecision to convert at load"
            default:
                return "\(file): tensor '\(tensor)' has dtype \(dtype); only F32 (and F16/BF16 with conversion) weights are supported — drop or convert this tensor before export"
            }
        case .mapFailed(let file, let reason):
            return "\(file): cannot memory-map (\(reason))"
        case .missingTensor(let file, let tensor, let similar):
            let hint = similar.isEmpty ? "" : "; similar names in the file: \(similar.joined(separator: ", "))"
            return "\(file): no tensor named '\(tensor)'\(hint); the checkpoint and the model definition disagree on names"
        case .shapeMismatch(let file, let tensor, let actual, let expected):
            return "\(file): tensor '\(tensor)' has shape \(actual), expected \(expected) from the model config; the weights and config.json are from different models"
        case .unexpectedTensors(let file, let names):
            let shown = names.prefix(5).joined(separator: ", ") + (names.count > 5 ? ", … (\(names.count) in all)" : "")
            return "\(file): tensors the model does not use: \(shown); config.json describes a different model than these weights"
        case .nonFiniteValue(let file, let tensor, let index, let value):
            return "\(file): tensor '\(tensor)' holds \(value) at flat index \(index); the training run diverged or the file is damaged — export a good checkpoint"
        }
    }
}
