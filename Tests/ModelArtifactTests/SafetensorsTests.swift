import Foundation
import ModelArtifact
import Testing

@Suite("Safetensors: files the real writer makes")
struct SafetensorsReadingTests {
    @Test("Opens a safetensors-library file: names, metadata, shapes and values")
    func opensWriterOutput() throws {
        let file = try SafetensorsFile(path: Fixtures.path("small.safetensors"))
        #expect(file.names == ["empty", "enc.blocks.0.attn.qkv.bias", "enc.blocks.0.attn.qkv.weight", "enc.norm.weight", "scale"])
        #expect(file.metadata == ["format": "pt", "note": "ListenToTheWorld loader fixture"])
        let weight = try file.tensor("enc.blocks.0.attn.qkv.weight", shape: [6, 4])
        #expect(Array(weight.values) == (0..<24).map(Fixtures.ramp))
        #expect(Array(try file.tensor("enc.blocks.0.attn.qkv.bias").values) == (0..<6).map(Fixtures.ramp))
        let scalar = try file.tensor("scale", shape: [])
        #expect(Array(scalar.values) == [-1])
        let empty = try file.tensor("empty", shape: [0, 3])
        #expect(empty.values.isEmpty)
        #expect(file.infos["enc.norm.weight"]?.dtype == .f32)
    }

    @Test("F32 tensors are views into the mapping, and outlive the file object")
    func tensorsKeepTheMappingAlive() throws {
        var file: SafetensorsFile? = try SafetensorsFile(path: Fixtures.path("small.safetensors"))
        let weight = try file!.tensor("enc.blocks.0.attn.qkv.weight")
        #expect(Int(bitPattern: weight.values.baseAddress!) % 4 == 0)
        file = nil
        #expect(Array(weight.values) == (0..<24).map(Fixtures.ramp))
    }

    @Test("A wrong shape names the file, the tensor and both shapes")
    func shapeMismatch() throws {
        let path = Fixtures.path("small.safetensors")
        let file = try SafetensorsFile(path: path)
        #expect(throws: ArtifactError.shapeMismatch(file: path, tensor: "enc.blocks.0.attn.qkv.weight", actual: [6, 4], expected: [4, 6])) {
            try file.tensor("enc.blocks.0.attn.qkv.weight", shape: [4, 6])
        }
        let message = ArtifactError.shapeMismatch(file: path, tensor: "enc.blocks.0.attn.qkv.weight", actual: [6, 4], expected: [4, 6]).description
        #expect(message.contains(path) && message.contains("enc.blocks.0.attn.qkv.weight") && message.contains("[6, 4]") && message.contains("[4, 6]"))
    }

    @Test("A missing tensor suggests the names that look alike")
    func missingTensor() throws {
        let path = Fixtures.path("small.safetensors")
        let file = try SafetensorsFile(path: path)
        do {
            _ = try file.tensor("encoder.blocks.0.attn.qkv.weight")
            Issue.record("a missing tensor was found")
        } catch {
            guard case .missingTensor(let f, let name, let similar) = error else {
                Issue.record("expected missingTensor, got \(error)")
                return
            }
            #expect(f == path && name == "encoder.blocks.0.attn.qkv.weight")
            #expect(similar.first == "enc.blocks.0.attn.qkv.weight")
            #expect(error.description.contains("enc.blocks.0.attn.qkv.weight"))
        }
    }

    @Test("F16 and BF16 are refused by default, with a message that says what to do")
    func halfPrecisionRefused() throws {
        let path = Fixtures.path("half.safetensors")
        let error = try #require(openFailure(path))
        guard case .unsupportedDType(let f, _, let dtype) = error else {
            Issue.record("expected unsupportedDType, got \(error)")
            return
        }
        #expect(f == path && (dtype == "F16" || dtype == "BF16"))
        #expect(error.description.contains("convertHalfPrecision") && error.description.contains(".float()"))
    }

    @Test("F16 and BF16 convert to F32 exactly when asked")
    func halfPrecisionConverted() throws {
        let file = try SafetensorsFile(path: Fixtures.path("half.safetensors"), options: SafetensorsOptions(convertHalfPrecision: true))
        #expect(file.infos["half"]?.dtype == .f16 && file.infos["brain"]?.dtype == .bf16)
        #expect(Array(try file.tensor("half", shape: [2, 5]).values) == (0..<10).map(Fixtures.ramp))
        #expect(Array(try file.tensor("brain", shape: [3, 2]).values) == (0..<6).map(Fixtures.ramp))
        #expect(Array(try file.tensor("full", shape: [4]).values) == (0..<4).map(Fixtures.ramp))
    }

    @Test("F32 data at an offset not aligned to 4 bytes is copied, not misread")
    func misalignedData() throws {
        let scratch = try ScratchFolder()
        // A 9-byte header puts the data section at byte 17.
        let header = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#
        let padded = header + String(repeating: " ", count: (4 - (8 + header.utf8.count) % 4) % 4 + 1)
        let path = try scratch.write("odd.safetensors", safetensorsBytes(header: padded, data: floatBytes([1.5, -2.25])))
        let file = try SafetensorsFile(path: path)
        let a = try file.tensor("a")
        #expect(Array(a.values) == [1.5, -2.25])
        #expect(Int(bitPattern: a.values.baseAddress!) % 4 == 0)
    }

    @Test("Empty tensors at odd offsets and empty F16 tensors load as empty buffers")
    func emptyTensorsAnywhere() throws {
        let scratch = try ScratchFolder()
        let header = #"{"e":{"dtype":"F32","shape":[0,4],"data_offsets":[0,0]},"h":{"dtype":"F16","shape":[0],"data_offsets":[0,0]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#
        let padded = header + String(repeating: " ", count: (4 - (8 + header.utf8.count) % 4) % 4 + 1)
        let path = try scratch.write("empty-odd.safetensors", safetensorsBytes(header: padded, data: floatBytes([2])))
        let file = try SafetensorsFile(path: path, options: SafetensorsOptions(convertHalfPrecision: true))
        #expect(try file.tensor("e", shape: [0, 4]).values.isEmpty)
        #expect(try file.tensor("h", shape: [0]).values.isEmpty)
        #expect(Array(try file.tensor("a").values) == [2])
    }

    @Test("checkAllUsed names the tensors the model did not read")
    func unusedTensors() throws {
        let path = Fixtures.path("small.safetensors")
        let file = try SafetensorsFile(path: path)
        try file.checkAllUsed(Set(file.names))
        #expect(throws: ArtifactError.unexpectedTensors(file: path, names: ["empty", "scale"])) {
            try file.checkAllUsed(["enc.blocks.0.attn.qkv.weight", "enc.blocks.0.attn.qkv.bias", "enc.norm.weight"])
        }
    }

    @Test("checkFinite finds a NaN or infinity and says where")
    func nonFinite() throws {
        try SafetensorsFile(path: Fixtures.path("small.safetensors")).checkFinite()
        let scratch = try ScratchFolder()
        let header = #"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}}"# + "   "
        let path = try scratch.write("nan.safetensors", safetensorsBytes(header: header, data: floatBytes([1, .nan, 3])))
        let file = try SafetensorsFile(path: path)
        #expect(throws: ArtifactError.nonFiniteValue(file: path, tensor: "a", index: 1, value: "nan")) {
            try file.checkFinite()
        }
    }

    @Test("Brackets and quotes inside tensor names do not confuse the nesting check")
    func bracketsInNames() throws {
        let scratch = try ScratchFolder()
        let name = #"odd[{name\"}]]]]]]]]]]]]]]]]]]]]]]]]]]"#
        let header = #"{""# + name + #"":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#
        let path = try scratch.write("names.safetensors", safetensorsBytes(header: header, data: floatBytes([3])))
        let file = try SafetensorsFile(path: path)
        #expect(file.names == [#"odd[{name"}]]]]]]]]]]]]]]]]]]]]]]]]]]"#])
    }
}

@Suite("Safetensors: broken and hostile files fail with the file and the problem")
struct SafetensorsFailureTests {
    static let good = #"{"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[2],"data_offsets":[16,24]}}"#
    static let goodData = floatBytes([1, 2, 3, 4, 5, 6])

    /// A header with one tensor entry `entry` over `data`.
    static func one(_ entry: String) -> String { #"{"t":"# + entry + "}" }

    static let cases: [(label: String, header: String, data: [UInt8], length: UInt64?, expected: ErrorKind)] = [
        ("header length beyond the file", good, goodData, 10_000, .truncated),
        ("header length over 100 MB", good, goodData, 200_000_000, .headerTooLarge),
        ("header length of 2^64 - 1", good, goodData, UInt64.max, .headerTooLarge),
        ("header length 0", good, goodData, 0, .malformedHeader),
        ("not JSON", "hello, world", [], nil, .malformedHeader),
        ("JSON but an array", "[1, 2, 3]", [], nil, .malformedHeader),
        ("unterminated JSON", #"{"a": {"dtype": "F32""#, [], nil, .malformedHeader),
        ("nested a million deep", "{\"a\":" + String(repeating: "[", count: 1_000_000), [], nil, .malformedHeader),
        ("metadata not strings", #"{"__metadata__":{"n":3}}"#, [], nil, .malformedHeader),
        ("overlapping offsets", #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#, floatBytes([1, 2, 3]), nil, .overlappingTensors),
        ("a gap between tensors", #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#, floatBytes([1, 2, 3]), nil, .uncoveredBytes),
        ("bytes after the last tensor", one(#"{"dtype":"F32","shape":[1],"data_offsets":[0,4]}"#), floatBytes([1, 2]), nil, .uncoveredBytes),
        ("offsets past the end", one(#"{"dtype":"F32","shape":[4],"data_offsets":[0,16]}"#), floatBytes([1, 2]), nil, .truncated),
        ("offsets reversed", one(#"{"dtype":"F32","shape":[1],"data_offsets":[4,0]}"#), floatBytes([1]), nil, .invalidTensor),
        ("negative offset", one(#"{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}"#), floatBytes([1]), nil, .invalidTensor),
        ("three offsets", one(#"{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}"#), floatBytes([1]), nil, .invalidTensor),
        ("negative shape", one(#"{"dtype":"F32","shape":[-1,4],"data_offsets":[0,4]}"#), floatBytes([1]), nil, .invalidTensor),
        ("shape overflowing Int", one(#"{"dtype":"F32","shape":[4611686018427387904,4611686018427387904],"data_offsets":[0,4]}"#), floatBytes([1]), nil, .invalidTensor),
        ("shape overflowing bytes", one(#"{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,4]}"#), floatBytes([1]), nil, .invalidTensor),
        ("shape beyond any integer", one(#"{"dtype":"F32","shape":[1e30],"data_offsets":[0,4]}"#), floatBytes([1]), nil, .invalidTensor),
        ("fractional shape", one(#"{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}"#), floatBytes([1]), nil, .invalidTensor),
        ("shape of strings", one(#"{"dtype":"F32","shape":["2"],"data_offsets":[0,8]}"#), floatBytes([1, 2]), nil, .invalidTensor),
        ("byte size not the shape's", one(#"{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}"#), floatBytes([1, 2, 3]), nil, .invalidTensor),
        ("missing dtype", one(#"{"shape":[1],"data_offsets":[0,4]}"#), floatBytes([1]), nil, .invalidTensor),
        ("entry not an object", one("42"), [], nil, .invalidTensor),
        ("integer dtype", one(#"{"dtype":"I64","shape":[1],"data_offsets":[0,8]}"#), [0, 0, 0, 0, 0, 0, 0, 0], nil, .unsupportedDType),
        ("unknown dtype", one(#"{"dtype":"F33","shape":[1],"data_offsets":[0,4]}"#), floatBytes([1]), nil, .unsupportedDType),
    ]

    @Test("Each broken header fails with the expected error naming the file", arguments: 0..<cases.count)
    func brokenHeader(index: Int) throws {
        let c = Self.cases[index]
        let scratch = try ScratchFolder()
        let path = try scratch.write("broken.safetensors", safetensorsBytes(header: c.header, data: c.data, length: c.length))
        let error = try #require(openFailure(path), "\(c.label): opened")
        #expect(ErrorKind(error) == c.expected, "\(c.label): \(error)")
        #expect(error.file == path && error.description.hasPrefix(path), "\(c.label): \(error)")
    }

    @Test("The well-formed version of those files opens (so the cases above fail for their reason)")
    func goodControl() throws {
        let scratch = try ScratchFolder()
        let path = try scratch.write("good.safetensors", safetensorsBytes(header: Self.good, data: Self.goodData))
        let file = try SafetensorsFile(path: path)
        #expect(Array(try file.tensor("a", shape: [2, 2]).values) == [1, 2, 3, 4])
        #expect(Array(try file.tensor("b", shape: [2]).values) == [5, 6])
    }

    /// The JSON decoder would keep one entry per name without a word; the strict parse before it
    /// refuses the header, naming the tensor.
    @Test("A tensor name given twice is refused as a malformed header naming it, not a crash")
    func duplicateNames() throws {
        let scratch = try ScratchFolder()
        let header = #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#
        let path = try scratch.write("dup.safetensors", safetensorsBytes(header: header, data: floatBytes([1, 2])))
        let error = try #require(openFailure(path))
        #expect(ErrorKind(error) == .malformedHeader, "\(error)")
        #expect("\(error)".contains("duplicate key \"a\""), "\(error)")
    }

    @Test("A header that is not UTF-8 is malformed, not a crash")
    func invalidUTF8() throws {
        let scratch = try ScratchFolder()
        let header: [UInt8] = Array(#"{"a"#.utf8) + [0xFF, 0xFE, 0xC3] + Array(#"":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}"#.utf8)
        let path = try scratch.write("utf8.safetensors", [UInt8(header.count), 0, 0, 0, 0, 0, 0, 0] + header)
        let error = try #require(openFailure(path))
        #expect(ErrorKind(error) == .malformedHeader, "\(error)")
    }

    @Test("A real file cut short at any of several lengths fails as truncated")
    func truncatedFiles() throws {
        let full = try Fixtures.bytes("small.safetensors")
        let headerEnd = 8 + Int(full[0]) + Int(full[1]) << 8
        let scratch = try ScratchFolder()
        for length in [1, 4, 7, 8, 9, 20, headerEnd - 1, headerEnd, headerEnd + 1, headerEnd + 60, full.count - 1] {
            let path = try scratch.write("cut-\(length).safetensors", Array(full[0..<length]))
            let error = try #require(openFailure(path), "cut at \(length) opened")
            #expect(ErrorKind(error) == .truncated, "cut at \(length): \(error)")
            #expect(error.description.contains(path))
        }
    }

    @Test("An empty file, a folder and a missing file each say so")
    func notFiles() throws {
        let scratch = try ScratchFolder()
        let empty = try scratch.write("empty.safetensors", [])
        #expect(openFailure(empty).map(ErrorKind.init) == .emptyFile)
        #expect(openFailure(scratch.url.path).map(ErrorKind.init) == .notARegularFile)
        #expect(openFailure(scratch.url.path)?.description.contains("folder") == true)
        let missing = scratch.path("nope.safetensors")
        let error = try #require(openFailure(missing))
        #expect(ErrorKind(error) == .cannotOpen)
        #expect(error.description.contains(missing) && error.description.contains("No such file"))
    }

    @Test("Random corruption of a real file's header never crashes: it opens or throws")
    func fuzzedHeaders() throws {
        let full = try Fixtures.bytes("small.safetensors")
        let scratch = try ScratchFolder()
        var state: UInt64 = 0x5EED
        func next() -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int(truncatingIfNeeded: state >> 33)
        }
        var opened = 0
        for round in 0..<300 {
            var bytes = full
            for _ in 0..<(1 + next() % 4) {
                let at = next() % min(bytes.count, 8 + 0x1B0)
                bytes[at] = UInt8(truncatingIfNeeded: next())
            }
            let path = try scratch.write("fuzz-\(round).safetensors", bytes)
            if let file = try? SafetensorsFile(path: path) {
                opened += 1
                for name in file.names { _ = try file.tensor(name).values.reduce(0, +) }
            }
        }
        #expect(opened < 300)
    }
}
