import Foundation

/// What a tensor looks like in the file, before any conversion.
public struct TensorInfo: Sendable, Equatable {
    public let name: String
    public let dtype: DType
    public let shape: [Int]
    /// The tensor's bytes, relative to the start of the data section (after the header).
    public let byteRange: Range<Int>
}

/// One tensor's Float32 values, read-only, with its shape. The values live in the file's mapping
/// (or in the file's conversion buffer); the tensor keeps that memory alive for as long as it is
/// held, so a view can never outlive its bytes.
public struct WeightTensor: @unchecked Sendable {
    public let name: String
    public let shape: [Int]
    public let values: UnsafeBufferPointer<Float>
    /// Holds the mapping or conversion buffer `values` points into. Both are immutable after load,
    /// which is why sharing the pointer across threads is safe.
    private let owner: AnyObject

    init(name: String, shape: [Int], values: UnsafeBufferPointer<Float>, owner: AnyObject) {
        self.name = name
        self.shape = shape
        self.values = values
        self.owner = owner
    }
}

/// How strictly to open a file.
public struct SafetensorsOptions: Sendable {
    /// Convert F16 and BF16 tensors to F32 at load (into one owned buffer) instead of rejecting
    /// them. Off by default: a half-precision file doubles its memory at load and usually means
    /// the wrong export, so it should be a choice.
    public var convertHalfPrecision: Bool
    /// The largest JSON header accepted. Real headers are kilobytes; the limit stops a corrupt
    /// length field from making the loader parse the whole file as JSON.
    public var maxHeaderBytes: Int

    public init(convertHalfPrecision: Bool = false, maxHeaderBytes: Int = 100_000_000) {
        self.convertHalfPrecision = convertHalfPrecision
        self.maxHeaderBytes = maxHeaderBytes
    }
}

/// A safetensors file, memory-mapped and validated as a whole when opened.
///
/// Layout: an 8-byte little-endian header length N, N bytes of JSON mapping each tensor name to
/// `{"dtype", "shape", "data_offsets": [begin, end]}` (offsets relative to the data section) plus
/// an optional `"__metadata__"` string map, then the data section. Opening checks every entry
/// (known dtype, non-negative shape without overflow, offsets inside the data, byte size equal to
/// the shape's, no two tensors overlapping, no unclaimed bytes), so any file that opens can be
/// read by `tensor(_:)` without further checks, and no input — truncated, hostile, not
/// safetensors at all — makes the process crash.
///
/// The object is immutable and `Sendable`: one loaded model is shared by every stream.
public final class SafetensorsFile: Sendable {
    /// The path the file was opened from, used in every error.
    public let path: String
    /// The `__metadata__` map (empty when absent).
    public let metadata: [String: String]
    /// Every tensor's entry, by name.
    public let infos: [String: TensorInfo]

    private let storage: Storage

    /// Opens, maps and validates the file at `path`.
    public init(path: String, options: SafetensorsOptions = SafetensorsOptions()) throws(ArtifactError) {
        self.path = path
        let file = try MappedFile(path: path)
        let header = try Self.parseHeader(file, options: options)
        metadata = header.metadata
        infos = Dictionary(header.tensors.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        storage = try Storage(file: file, dataStart: header.dataStart, tensors: header.tensors, options: options)
    }

    /// Tensor names, sorted.
    public var names: [String] { infos.keys.sorted() }

    /// The whole file's CRC-32 (`CRC32`), as `zlib.crc32` of its bytes.
    public var crc32: UInt32 { CRC32.checksum(storage.file.bytes) }

    /// Drops the mapped file's resident pages (see `MappedFile.releaseResidentPages`): call it
    /// once the model has packed its weight matrices, so their mapped originals stop counting in
    /// the process's memory. Tensors still read in place fault back in from the page cache.
    public func releaseResidentPages() {
        storage.file.releaseResidentPages()
    }

    /// The tensor `name` as Float32.
    public func tensor(_ name: String) throws(ArtifactError) -> WeightTensor {
        guard let info = infos[name], let values = storage.values[name] else {
            throw .missingTensor(file: path, tensor: name, similar: similarNames(to: name))
        }
        return WeightTensor(name: name, shape: info.shape, values: values, owner: storage)
    }

    /// The tensor `name`, checked to have exactly the shape `expected` (what the model config
    /// implies); the error names the file, the tensor and both shapes.
    public func tensor(_ name: String, shape expected: [Int]) throws(ArtifactError) -> WeightTensor {
        let t = try tensor(name)
        try Self.check(t, shape: expected, file: path)
        return t
    }

    /// Throws `shapeMismatch` unless `tensor` has the shape `expected`.
    public static func check(_ tensor: WeightTensor, shape expected: [Int], file: String) throws(ArtifactError) {
        if tensor.shape != expected {
            throw .shapeMismatch(file: file, tensor: tensor.name, actual: tensor.shape, expected: expected)
        }
    }

    /// Throws `unexpectedTensors` when the file holds tensors outside `used` — the names the model
    /// read. Call it after loading every weight: extra tensors mean the config and the weights
    /// disagree, which shape checks alone would miss (e.g. a deeper checkpoint than the config).
    public func checkAllUsed(_ used: Set<String>) throws(ArtifactError) {
        let extra = names.filter { !used.contains($0) }
        if !extra.isEmpty {
            throw .unexpectedTensors(file: path, names: extra)
        }
    }

    /// Throws `nonFiniteValue` for the first NaN or infinity in any tensor, by name order. One
    /// pass over every weight (milliseconds for this project's model), and it touches every page
    /// of the mapping, so it also brings the weights into memory before the first frame.
    public func checkFinite() throws(ArtifactError) {
        for name in names {
            guard let values = storage.values[name] else { continue }
            if let index = values.firstIndex(where: { !$0.isFinite }) {
                throw .nonFiniteValue(file: path, tensor: name, index: index, value: "\(values[index])")
            }
        }
    }

    /// Up to three names that share the most leading characters with `name`, preferring ones
    /// that end the same way (`…attn.qkv.weight`), so a renamed prefix is easy to spot.
    private func similarNames(to name: String) -> [String] {
        let suffix = name.split(separator: ".").suffix(2).joined(separator: ".")
        var scored: [(name: String, score: Int)] = []
        for candidate in infos.keys {
            let common = zip(candidate, name).prefix { $0 == $1 }.count
            let score = (candidate.hasSuffix(suffix) ? 1000 : 0) + common
            if score > 0 { scored.append((candidate, score)) }
        }
        scored.sort { $0.score != $1.score ? $0.score > $1.score : $0.name < $1.name }
        return scored.prefix(3).map(\.name)
    }
}

// MARK: - Header parsing and validation

extension SafetensorsFile {
    struct Header {
        var metadata: [String: String]
        var tensors: [TensorInfo]
        var dataStart: Int
    }

    /// JSON deeper than this is rejected before parsing: a real header is 3 levels deep, and a
    /// hostile one nested millions deep must not reach a recursive parser.
    static let maxJSONDepth = 16

    static func parseHeader(_ file: MappedFile, options: SafetensorsOptions) throws(ArtifactError) -> Header {
        let path = file.path
        let bytes = file.bytes
        guard bytes.count >= 8 else {
            throw .truncated(file: path, detail: "the file is \(bytes.count) bytes, shorter than the 8-byte header length field")
        }
        let length = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
        if length > UInt64(options.maxHeaderBytes) {
            throw .headerTooLarge(file: path, length: length, limit: options.maxHeaderBytes)
        }
        let headerLength = Int(length)
        if headerLength > bytes.count - 8 {
            throw .truncated(file: path, detail: "the header length field says \(headerLength) bytes but only \(bytes.count - 8) follow it")
        }
        if headerLength == 0 {
            throw .malformedHeader(file: path, detail: "the header is empty (length 0); expected a JSON object")
        }
        let json = UnsafeRawBufferPointer(rebasing: bytes[8..<(8 + headerLength)])
        try checkJSONShape(json, file: path)
        // JSONDecoder keeps one of two entries with the same tensor name without a word; a file
        // that names a tensor twice is ambiguous (another reader may take the other one).
        do { _ = try StrictJSON.parse(json, maxDepth: maxJSONDepth) } catch {
            throw .malformedHeader(file: path, detail: "\(error)")
        }

        let raw: RawHeader
        do {
            raw = try JSONDecoder().decode(RawHeader.self, from: Data(json))
        } catch let error as DecodingError {
            throw describe(error, file: path)
        } catch {
            throw .malformedHeader(file: path, detail: "\(error)")
        }

        let dataStart = 8 + headerLength
        let dataSize = bytes.count - dataStart
        var tensors: [TensorInfo] = []
        tensors.reserveCapacity(raw.entries.count)
        for (name, entry) in raw.entries {
            tensors.append(try validate(name: name, entry: entry, dataSize: dataSize, file: path))
        }
        try checkLayout(tensors, dataSize: dataSize, file: path)
        return Header(metadata: raw.metadata, tensors: tensors, dataStart: dataStart)
    }

    /// Rejects headers that are not a JSON object or nest too deeply, with one linear scan that
    /// tracks strings and escapes so brackets inside names do not count.
    static func checkJSONShape(_ json: UnsafeRawBufferPointer, file: String) throws(ArtifactError) {
        guard let first = json.first(where: { $0 != 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 }), first == UInt8(ascii: "{") else {
            throw .malformedHeader(file: file, detail: "the header is not a JSON object (it must start with '{'); this is not a safetensors file")
        }
        var depth = 0
        var inString = false
        var escaped = false
        for byte in json {
            if inString {
                if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                if depth > maxJSONDepth {
                    throw .malformedHeader(file: file, detail: "JSON nested deeper than \(maxJSONDepth) levels")
                }
            case UInt8(ascii: "}"), UInt8(ascii: "]"): depth -= 1
            default: break
            }
        }
    }

    /// Turns a decoder error into a message that names the tensor it happened in, when it did.
    static func describe(_ error: DecodingError, file: String) -> ArtifactError {
        let (context, summary): (DecodingError.Context, String)
        switch error {
        case .dataCorrupted(let c): (context, summary) = (c, "not valid JSON")
        case .keyNotFound(let key, let c): (context, summary) = (c, "missing field '\(key.stringValue)'")
        case .typeMismatch(let type, let c): (context, summary) = (c, "expected \(type)")
        case .valueNotFound(let type, let c): (context, summary) = (c, "expected \(type), found null")
        @unknown default: return .malformedHeader(file: file, detail: "\(error)")
        }
        let path = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
        let detail = "\(summary) (\(context.debugDescription))"
        guard let owner = path.first else {
            return .malformedHeader(file: file, detail: detail)
        }
        if owner == "__metadata__" {
            return .malformedHeader(file: file, detail: "__metadata__\(path.dropFirst().map { ".\($0)" }.joined()): \(detail); metadata must map strings to strings")
        }
        return .invalidTensor(file: file, tensor: owner, detail: "\(path.dropFirst().joined(separator: "."))\(path.count > 1 ? ": " : "")\(detail)")
    }

    static func validate(name: String, entry: RawEntry, dataSize: Int, file: String) throws(ArtifactError) -> TensorInfo {
        guard let dtype = DType(rawValue: entry.dtype) else {
            throw .unsupportedDType(file: file, tensor: name, dtype: entry.dtype)
        }
        let shapeText = "[\(entry.shape.map(number).joined(separator: ", "))]"
        var shape: [Int] = []
        var count = 1
        for value in entry.shape {
            guard let dim = exactInteger(value) else {
                throw .invalidTensor(file: file, tensor: name, detail: "shape \(shapeText) has a dimension that is not a whole number below 2^53")
            }
            if dim < 0 {
                throw .invalidTensor(file: file, tensor: name, detail: "shape \(shapeText) has a negative dimension")
            }
            shape.append(dim)
            let (product, overflow) = count.multipliedReportingOverflow(by: dim)
            if overflow {
                throw .invalidTensor(file: file, tensor: name, detail: "shape \(shapeText) has more elements than memory can hold")
            }
            count = product
        }
        let (byteCount, overflow) = count.multipliedReportingOverflow(by: dtype.size)
        if overflow {
            throw .invalidTensor(file: file, tensor: name, detail: "shape \(shapeText) of \(dtype.rawValue) is larger than memory can hold")
        }
        guard entry.dataOffsets.count == 2 else {
            throw .invalidTensor(file: file, tensor: name, detail: "data_offsets has \(entry.dataOffsets.count) values, expected [begin, end]")
        }
        let offsetsText = "[\(entry.dataOffsets.map(number).joined(separator: ", "))]"
        guard let begin = exactInteger(entry.dataOffsets[0]), let end = exactInteger(entry.dataOffsets[1]), begin >= 0, begin <= end else {
            throw .invalidTensor(file: file, tensor: name, detail: "data_offsets \(offsetsText) is not an ordered range of whole, non-negative numbers")
        }
        guard end <= dataSize else {
            throw .truncated(file: file, detail: "tensor '\(name)' ends at data byte \(end) but the data section has \(dataSize) bytes")
        }
        guard end - begin == byteCount else {
            throw .invalidTensor(file: file, tensor: name, detail: "data_offsets [\(begin), \(end)] hold \(end - begin) bytes but shape \(shapeText) of \(dtype.rawValue) needs \(byteCount)")
        }
        return TensorInfo(name: name, dtype: dtype, shape: shape, byteRange: begin..<end)
    }

    /// `value` as an Int when it is a whole number small enough (|value| ≤ 2^53) that the Double
    /// held it exactly; nil otherwise.
    static func exactInteger(_ value: Double) -> Int? {
        guard value.rounded() == value, abs(value) <= 9_007_199_254_740_992 else { return nil }
        return Int(value)
    }

    /// A JSON number as the file wrote it, near enough: whole numbers without a fraction.
    static func number(_ value: Double) -> String {
        exactInteger(value).map(String.init) ?? "\(value)"
    }

    /// Checks that the tensors tile the data section exactly: no overlap, no gap, nothing after.
    static func checkLayout(_ tensors: [TensorInfo], dataSize: Int, file: String) throws(ArtifactError) {
        let ordered = tensors.filter { !$0.byteRange.isEmpty }.sorted {
            ($0.byteRange.lowerBound, $0.name) < ($1.byteRange.lowerBound, $1.name)
        }
        var covered = 0
        var previous: TensorInfo?
        for info in ordered {
            if info.byteRange.lowerBound < covered, let previous {
                throw .overlappingTensors(file: file, first: previous.name, second: info.name)
            }
            if info.byteRange.lowerBound > covered {
                throw .uncoveredBytes(file: file, start: covered, end: info.byteRange.lowerBound)
            }
            covered = info.byteRange.upperBound
            previous = info
        }
        if covered < dataSize {
            throw .uncoveredBytes(file: file, start: covered, end: dataSize)
        }
    }
}

/// The header as JSON: tensor entries under arbitrary names, plus `__metadata__`.
struct RawHeader: Decodable {
    var metadata: [String: String] = [:]
    var entries: [(String, RawEntry)] = []

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        for key in container.allKeys {
            if key.stringValue == "__metadata__" {
                metadata = try container.decode([String: String].self, forKey: key)
            } else {
                entries.append((key.stringValue, try container.decode(RawEntry.self, forKey: key)))
            }
        }
    }
}

/// Numbers are decoded as Double, not Int, so that a fractional or astronomically large value is
/// reported as a bad dimension of the named tensor rather than as a JSON syntax error.
struct RawEntry: Decodable {
    var dtype: String
    var shape: [Double]
    var dataOffsets: [Double]

    enum CodingKeys: String, CodingKey {
        case dtype, shape
        case dataOffsets = "data_offsets"
    }
}

// MARK: - Values

/// The memory behind every `WeightTensor` of one file: the mapping, plus one owned buffer for the
/// tensors that could not be used in place (converted from F16/BF16, or F32 at an offset not
/// aligned to 4 bytes, which a hand-made file can have). Immutable after init.
final class Storage: @unchecked Sendable {
    let file: MappedFile
    let values: [String: UnsafeBufferPointer<Float>]
    private let owned: UnsafeMutableBufferPointer<Float>?

    init(file: MappedFile, dataStart: Int, tensors: [TensorInfo], options: SafetensorsOptions) throws(ArtifactError) {
        self.file = file
        let base = file.bytes.baseAddress! + dataStart
        func inPlace(_ t: TensorInfo) -> Bool {
            t.byteRange.isEmpty || (t.dtype == .f32 && Int(bitPattern: base + t.byteRange.lowerBound) % MemoryLayout<Float>.alignment == 0)
        }
        for t in tensors where t.dtype != .f32 {
            if !(options.convertHalfPrecision && (t.dtype == .f16 || t.dtype == .bf16)) {
                throw .unsupportedDType(file: file.path, tensor: t.name, dtype: t.dtype.rawValue)
            }
        }
        let ownedCount = tensors.filter { !inPlace($0) }.reduce(0) { $0 + $1.byteRange.count / $1.dtype.size }
        let owned = ownedCount > 0 ? UnsafeMutableBufferPointer<Float>.allocate(capacity: ownedCount) : nil
        var next = 0
        var values: [String: UnsafeBufferPointer<Float>] = [:]
        for t in tensors {
            let count = t.byteRange.count / t.dtype.size
            let source = UnsafeRawPointer(base + t.byteRange.lowerBound)
            if count == 0 {
                values[t.name] = UnsafeBufferPointer(start: nil, count: 0)
                continue
            }
            if inPlace(t) {
                values[t.name] = UnsafeBufferPointer(start: source.assumingMemoryBound(to: Float.self), count: count)
                continue
            }
            let target = owned!.baseAddress! + next
            for i in 0..<count {
                switch t.dtype {
                case .f16:
                    target[i] = Float(Float16(bitPattern: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self).littleEndian))
                case .bf16:
                    target[i] = Float(bitPattern: UInt32(source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self).littleEndian) << 16)
                default:
                    target[i] = Float(bitPattern: source.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self).littleEndian)
                }
            }
            values[t.name] = UnsafeBufferPointer(start: target, count: count)
            next += count
        }
        self.values = values
        self.owned = owned
    }

    deinit {
        owned?.deallocate()
    }
}
