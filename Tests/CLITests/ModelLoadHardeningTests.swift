import Foundation
import Testing

/// A model proves itself at load (DESIGN.md, safety rule 6; issue 15, items 2, 5, 6 and 7): every
/// config.json, tokenizer.json and model.safetensors below was loaded without a word before, and
/// several made a red light say walk. `listen` and `assistd` load through the same code; both must
/// refuse each one with the file and the problem, exit 3, and never crash or hang.
@Suite("Model loading refuses unsafe or broken model folders")
struct ModelLoadHardeningTests {
    static let shipped = Programs.repository.appendingPathComponent("models/default")

    /// A copy of the shipped model folder with `config.json` (and the others) as given.
    static func modelFolder(config: String? = nil, tokenizer: String? = nil) throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("model-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for name in ["config.json", "tokenizer.json", "model.safetensors"] {
            try FileManager.default.copyItem(at: shipped.appendingPathComponent(name), to: folder.appendingPathComponent(name))
        }
        if let config { try Data(config.utf8).write(to: folder.appendingPathComponent("config.json")) }
        if let tokenizer { try Data(tokenizer.utf8).write(to: folder.appendingPathComponent("tokenizer.json")) }
        return folder
    }

    static func shippedText(_ name: String) throws -> String {
        try String(contentsOf: shipped.appendingPathComponent(name), encoding: .utf8)
    }

    /// The shipped config.json with `old` replaced by `new` exactly once, so the number is written
    /// as the test spells it (1e300, 192.5), not as a JSON writer would. `{verify}` in `old` stands
    /// for the shipped green verifier threshold as written, which every recalibration moves.
    static func editedConfig(_ old: String, _ new: String) throws -> String {
        let text = try shippedText("config.json")
        let old = old.replacingOccurrences(of: "{verify}", with: try shippedVerifierThreshold(text))
        let parts = text.components(separatedBy: old)
        try #require(parts.count == 2, "\(old) occurs \(parts.count - 1) times in the shipped config.json")
        return parts.joined(separator: new)
    }

    /// The signal expert's `thresholds.verify` as config.json writes it (its line is the only
    /// `"verify"` at the thresholds' indentation; the calibration grid's entries sit deeper).
    static func shippedVerifierThreshold(_ text: String) throws -> String {
        let key = "\n   \"verify\": "
        let parts = text.components(separatedBy: key)
        try #require(parts.count == 2, "\(key) occurs \(parts.count - 1) times in the shipped config.json")
        return String(parts[1].prefix { $0 != "," && $0 != "\n" })
    }

    /// The shipped config.json with the light-state labels (and the head's labels) reordered.
    static func swappedRedGreen(headOnly: Bool) throws -> String {
        let text = try shippedText("config.json")
        let head = "\"labels\": [\n    \"none\",\n    \"red\",\n    \"green\","
        let swappedHead = "\"labels\": [\n    \"none\",\n    \"green\",\n    \"red\","
        let top = "\"light_states\": [\n  \"none\",\n  \"red\",\n  \"green\","
        let swappedTop = "\"light_states\": [\n  \"none\",\n  \"green\",\n  \"red\","
        try #require(text.contains(head) && text.contains(top))
        let edited = text.replacingOccurrences(of: head, with: swappedHead)
        return headOnly ? edited : edited.replacingOccurrences(of: top, with: swappedTop)
    }

    /// Runs a program and kills it after `seconds`: a loader that blocks must fail the test,
    /// not hang the suite. (Generous: the suite runs many programs at once on a shared machine.)
    static func runBounded(_ name: String, _ arguments: [String], seconds: Double = 180) throws -> (run: ProgramRun, timedOut: Bool) {
        let process = try Programs.start(name, arguments)
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        let timedOut = process.isRunning
        if timedOut { process.terminate() }
        process.waitUntilExit()
        let output = (process.standardOutput as! Pipe).fileHandleForReading.readDataToEndOfFile()
        let errors = (process.standardError as! Pipe).fileHandleForReading.readDataToEndOfFile()
        return (ProgramRun(status: process.terminationStatus, output: String(decoding: output, as: UTF8.self),
                           errors: String(decoding: errors, as: UTF8.self)), timedOut)
    }

    /// `listen model info FOLDER`: exit 3 and every fragment in the message, with the file named.
    static func expectRefused(_ folder: URL, file: String, _ fragments: [String], program: String = "listen") throws {
        let arguments = program == "listen"
            ? ["model", "info", folder.path]
            : ["--model", folder.path, "--speech", "none", "--http", "127.0.0.1:0"]
        let (run, timedOut) = try runBounded(program, arguments)
        #expect(!timedOut, "\(program) hung on \(file)")
        #expect(run.status == 3, "\(program) exit \(run.status): \(run.errors)")
        let path = folder.appendingPathComponent(file).path
        #expect(run.errors.contains(path), "\(program) does not name \(path): \(run.errors)")
        for fragment in fragments {
            #expect(run.errors.contains(fragment), "\(program): \(run.errors)")
        }
    }

    static let configCases: [(name: String, old: String, new: String, message: [String])] = [
        ("light-state temperature 0.001", "\"light_state\": 1.0905,", "\"light_state\": 0.001,",
         ["calibration.temperatures.light_state is 0.001", "from 0.25 to 8"]),
        ("green threshold 0.01", "\"green\": 0.960832953453064,", "\"green\": 0.01,", ["thresholds.green is 0.01", "from 0.5 to 0.9999"]),
        ("green threshold below the calibrated one", "\"green\": 0.960832953453064,", "\"green\": 0.95,",
         ["thresholds.green is 0.95, below 0.96083", "val_max_p_green_on_non_green"]),
        ("duplicate green key", "\"green\": 0.960832953453064,", "\"green\": 0.960832953453064,\n  \"green\": 0.01,",
         ["duplicate key \"green\" (first at line"]),
        ("enc_mlp_ratio 1e300", "\"enc_mlp_ratio\": 4.0,", "\"enc_mlp_ratio\": 1e300,",
         ["architecture.enc_mlp_ratio is 1e300, out of range", "from 0.5 to 16"]),
        ("enc_depth 2^31", "\"enc_depth\": 6,", "\"enc_depth\": 2147483648,", ["architecture.enc_depth is 2147483648, out of range"]),
        ("dec_depth 1e18", "\"dec_depth\": 2,", "\"dec_depth\": 1e18,", ["architecture.dec_depth is 1e18, out of range"]),
        ("enc_width 192.5", "\"enc_width\": 192,", "\"enc_width\": 192.5,", ["architecture.enc_width is 192.5, not a whole number"]),
        ("vocab_size 1e30", "\"vocab_size\": 99,", "\"vocab_size\": 1e30,", ["architecture.vocab_size is 1e30"]),
        ("enc_width as text", "\"enc_width\": 192,", "\"enc_width\": \"192\",", ["architecture.enc_width is a string"]),
        ("sizes in range but a 10 GB model", "\"enc_width\": 192,\n  \"enc_depth\": 6,", "\"enc_width\": 3072,\n  \"enc_depth\": 64,",
         ["MiB for its weights and one stream's buffers, over the 2048 MiB limit"]),
        ("obstacle kinds reordered", "\"obstacle_kinds\": [\n  \"car\",\n  \"bicycle\",", "\"obstacle_kinds\": [\n  \"bicycle\",\n  \"car\",",
         ["obstacle_kinds is", "the same labels in a different order"]),
        ("crosswalk threshold 0.05", "\"crosswalk\": 0.5,", "\"crosswalk\": 0.05,", ["thresholds.crosswalk is 0.05"]),
        ("green verifier threshold 0.2", "\n   \"verify\": {verify},", "\n   \"verify\": 0.2,",
         ["thresholds.verify 0.2 below the calibrated floor 0.5"]),
        ("green verifier classes swapped", "\"not_green\",\n    \"green\"", "\"green\",\n    \"not_green\"",
         ["green_verifier: classes [\"green\", \"not_green\"] differ"]),
        ("green verifier without its threshold", "\"verify\": {verify},\n   \"set_aside\": 0.5,\n   ", "",
         ["green_verifier without thresholds.verify"]),
        ("red veto side 1.5", "\"red_veto_side\": 0.3333333333333333,", "\"red_veto_side\": 1.5,",
         ["thresholds.red_veto_side 1.5 is not between 0 and 1"]),
        ("view misses 4", "\"set_aside\": 0.5,\n   \"view_misses\": 1\n", "\"set_aside\": 0.5,\n   \"view_misses\": 4\n",
         ["thresholds.view_misses 4 is not between 0 and 3 (half the views)"]),
        ("set aside above verify", "\"set_aside\": 0.5,", "\"set_aside\": 0.95,",
         ["thresholds.set_aside 0.95 is not above 0 and at most thresholds.verify"]),
        ("signal reader with a wide view", "\"ln_eps\": 1e-05,\n   \"head_hidden\": 64\n  },\n  \"classes\": [\n   \"not_signal\"",
         "\"ln_eps\": 1e-05,\n   \"head_hidden\": 64,\n   \"wide_size\": 16,\n   \"wide_context\": 3\n  },\n  \"classes\": [\n   \"not_signal\"",
         ["a wide view beside each crop (wide_size, wide_context): this program reads the crop alone"]),
        ("countdown reader with its ones before its tens", "\"signal_expert\": {", "\"signal_expert\": {" + countdownReader(classes: onesFirst),
         ["countdown_reader: classes", "differ from the tens (none, blank, 1…5) then the ones (0…9)"]),
        ("countdown reader threshold 0.2", "\"signal_expert\": {", "\"signal_expert\": {" + countdownReader(threshold: "0.2"),
         ["countdown_reader: threshold 0.2 below the calibrated floor 0.5"]),
        ("countdown reader stem that does not reach the patch grid", "\"signal_expert\": {",
         "\"signal_expert\": {" + countdownReader(stemChannels: "[32, 48]"),
         ["countdown_reader: a conv stem for 4-pixel patches needs one 3×3 stride-2 convolution per halving"]),
    ]

    /// The tens, then the ones, as lttw.countdown.CLASSES; and in the wrong order.
    static let countdownClasses = ["none", "blank", "1", "2", "3", "4", "5"] + (0...9).map(String.init)
    static let onesFirst = Array(countdownClasses[7...] + countdownClasses[..<7])

    /// A `countdown_reader` section (lttw.artifact.merge_countdown's keys) to put inside `signal_expert`.
    static func countdownReader(classes: [String] = countdownClasses, threshold: String = "0.9", stemChannels: String = "[32]") -> String {
        let names = classes.map { "\"\($0)\"" }.joined(separator: ", ")
        return """

             "countdown_reader": {"architecture": {"crop_size": 48, "patch_size": 4, "width": 64, "depth": 3, "heads": 2,
              "mlp_ratio": 4.0, "ln_eps": 1e-05, "head_hidden": 64, "stem": "conv", "stem_channels": \(stemChannels)},
              "classes": [\(names)], "groups": [7, 10], "weights_prefix": "signal.countdown.", "context": 5,
              "temperature": 0.9, "threshold": \(threshold)},
            """
    }

    @Test("listen refuses config.json edits that change what is spoken or what is allocated", arguments: configCases.indices)
    func unsafeConfigs(index: Int) throws {
        let edit = Self.configCases[index]
        let folder = try Self.modelFolder(config: try Self.editedConfig(edit.old, edit.new))
        defer { try? FileManager.default.removeItem(at: folder) }
        try Self.expectRefused(folder, file: "config.json", edit.message)
    }

    @Test("Red and green swapped in config.json are refused, in the label list and in the head alone")
    func swappedLabels() throws {
        for headOnly in [false, true] {
            let folder = try Self.modelFolder(config: try Self.swappedRedGreen(headOnly: headOnly))
            defer { try? FileManager.default.removeItem(at: folder) }
            let key = headOnly ? "heads.light_state.labels is" : "light_states is [\"none\", \"green\", \"red\""
            try Self.expectRefused(folder, file: "config.json", [key, "different order"])
        }
    }

    @Test("assistd loads through the same checks: the crash, the false walk and the swap stop start-up with exit 3")
    func assistdRefuses() throws {
        let configs = [
            (try Self.editedConfig("\"enc_mlp_ratio\": 4.0,", "\"enc_mlp_ratio\": 1e300,"), "enc_mlp_ratio is 1e300"),
            (try Self.editedConfig("\"dec_depth\": 2,", "\"dec_depth\": 2147483648,"), "dec_depth is 2147483648"),
            (try Self.editedConfig("\"green\": 0.960832953453064,", "\"green\": 0.01,"), "thresholds.green is 0.01"),
            (try Self.swappedRedGreen(headOnly: false), "light_states is"),
        ]
        for (config, message) in configs {
            let folder = try Self.modelFolder(config: config)
            defer { try? FileManager.default.removeItem(at: folder) }
            try Self.expectRefused(folder, file: "config.json", [message], program: "assistd")
        }
    }

    @Test("A FIFO in place of any model file is refused at once by listen and assistd, never waited on", arguments: ["config.json", "tokenizer.json", "model.safetensors"])
    func fifo(name: String) throws {
        let folder = try Self.modelFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent(name).path
        try FileManager.default.removeItem(atPath: path)
        #expect(mkfifo(path, 0o644) == 0)
        try Self.expectRefused(folder, file: name, ["named pipe (FIFO)"])
        try Self.expectRefused(folder, file: name, ["named pipe (FIFO)"], program: "assistd")
    }

    /// A copy of the shipped folder whose weights `edit` changes must be refused by listen,
    /// naming `problem` in model.safetensors.
    static func expectRefusedWeights(_ problem: String, _ edit: (inout [String: Any], inout [UInt8]) throws -> Void) throws {
        let folder = try modelFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try editedWeights(folder, edit)
        try expectRefused(folder, file: "model.safetensors", [problem])
    }

    /// The shipped weights with `edit` applied to the header (as JSON) and the data section.
    static func editedWeights(_ folder: URL, _ edit: (inout [String: Any], inout [UInt8]) throws -> Void) throws {
        let url = folder.appendingPathComponent("model.safetensors")
        let bytes = [UInt8](try Data(contentsOf: url))
        let length = Int(bytes[0..<8].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) })
        var header = try #require(try JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + length)])) as? [String: Any])
        var data = Array(bytes[(8 + length)...])
        try edit(&header, &data)
        let json = [UInt8](try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys]))
        let size = UInt64(json.count)
        let out = (0..<8).map { UInt8(truncatingIfNeeded: size >> (8 * UInt64($0))) } + json + data
        try Data(out).write(to: url)
    }

    /// A NaN written at flat index 2 of a float32 tensor (the light head's) and of a half-precision
    /// one (the green verifier's, refused once widened).
    static let nanCases: [(tensor: String, dtype: String)] = [("heads.out.light_state.weight", "F32"), ("signal.verifier.hidden.weight", "F16")]

    @Test("A NaN weight is refused, naming the tensor, in float32 and in the verifier's half precision", arguments: nanCases.indices)
    func nanWeight(_ index: Int) throws {
        let (tensor, dtype) = Self.nanCases[index]
        try Self.expectRefusedWeights("tensor '\(tensor)' holds nan at flat index 2") { header, data in
            let entry = try #require(header[tensor] as? [String: Any])
            try #require(entry["dtype"] as? String == dtype, "\(tensor) is stored as \(dtype) in the shipped model")
            let offsets = try #require(entry["data_offsets"] as? [Int])
            let nan: [UInt8] = dtype == "F16"
                ? withUnsafeBytes(of: Float16.nan.bitPattern.littleEndian, Array.init)
                : withUnsafeBytes(of: Float.nan.bitPattern.littleEndian, Array.init)
            for (byte, value) in nan.enumerated() { data[offsets[0] + 2 * nan.count + byte] = value }
        }
    }

    @Test("A half-precision tensor outside the green verifier (a model saved in the wrong precision) is refused, naming it")
    func halfOutsideVerifier() throws {
        try Self.expectRefusedWeights("tensor 'heads.out.light_state.weight' is F16; only the green verifier's") { header, _ in
            // The same bytes read as twice as many F16 values: the file stays valid, only the dtype is wrong.
            var entry = try #require(header["heads.out.light_state.weight"] as? [String: Any])
            let shape = try #require(entry["shape"] as? [Int])
            entry["dtype"] = "F16"
            entry["shape"] = [shape[0], shape[1] * 2]
            header["heads.out.light_state.weight"] = entry
        }
    }

    @Test("Two heads' weights of one shape swapped in the data, every check of structure passing, are refused by the CRC-32")
    func swappedTensors() throws {
        let folder = try Self.modelFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("model.safetensors")
        var bytes = [UInt8](try Data(contentsOf: url))
        let length = Int(bytes[0..<8].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) })
        let header = try #require(try JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + length)])) as? [String: Any])
        func range(_ name: String) throws -> Range<Int> {
            let entry = try #require(header[name] as? [String: Any])
            let offsets = try #require(entry["data_offsets"] as? [Int])
            return (8 + length + offsets[0])..<(8 + length + offsets[1])
        }
        // The crossing and light-kind heads: both [2, hidden], so the swapped file is the same
        // size and shape everywhere; before the CRC-32 it loaded, and read crossings wrong.
        let crossing = try range("heads.out.crosswalk.weight"), kind = try range("heads.out.light_kind.weight")
        try #require(crossing.count == kind.count)
        let saved = Array(bytes[crossing])
        bytes.replaceSubrange(crossing, with: bytes[kind])
        bytes.replaceSubrange(kind, with: saved)
        try Data(bytes).write(to: url)
        for program in ["listen", "assistd"] {
            try Self.expectRefused(folder, file: "model.safetensors", ["its CRC-32 is ", "but config.json's weights_crc32 says"], program: program)
        }
    }

    @Test("A weights_crc32 that is not eight hex digits is refused in config.json")
    func malformedChecksum() throws {
        let text = try Self.shippedText("config.json")
        let crc = try #require(text.components(separatedBy: "\"weights_crc32\": \"").last?.prefix(8))
        let folder = try Self.modelFolder(config: try Self.editedConfig("\"weights_crc32\": \"\(crc)\"", "\"weights_crc32\": \"xyz\""))
        defer { try? FileManager.default.removeItem(at: folder) }
        try Self.expectRefused(folder, file: "config.json", ["weights_crc32 \"xyz\" is not eight hex digits"])
    }

    @Test("A tensor no part of the model reads is refused (the config describes a different model)")
    func extraTensor() throws {
        try Self.expectRefusedWeights("tensors the model does not use: encoder.blocks.6.attn.qkv.bias") { header, data in
            header["encoder.blocks.6.attn.qkv.bias"] = ["dtype": "F32", "shape": [2], "data_offsets": [data.count, data.count + 8]]
            data += [UInt8](repeating: 0, count: 8)
        }
    }

    @Test("tokenizer.json: a special token id outside the vocabulary, or not where the engine expects it, and duplicate keys are refused")
    func tokenizerIDs() throws {
        let text = try Self.shippedText("tokenizer.json")
        try #require(text.contains("\"<eos>\": 2,"))
        let cases = [
            (text.replacingOccurrences(of: "\"<eos>\": 2,", with: "\"<eos>\": 500,"), "special token <eos> has id 500, outside the vocabulary of 99 tokens"),
            (text.replacingOccurrences(of: "\"<eos>\": 2,", with: "\"<eos>\": 7,"), "special token <eos> has id 7, but the vocabulary holds it at 2"),
            (text.replacingOccurrences(of: "\"<eos>\": 2,", with: "\"<eos>\": 2,\n  \"<eos>\": 9,"), "duplicate key \"<eos>\""),
        ]
        for (tokenizer, message) in cases {
            let folder = try Self.modelFolder(tokenizer: tokenizer)
            defer { try? FileManager.default.removeItem(at: folder) }
            try Self.expectRefused(folder, file: "tokenizer.json", [message])
        }
    }

    @Test("The shipped model still loads: every tensor used, every weight finite, the config within its ranges")
    func shippedLoads() throws {
        let (run, timedOut) = try Self.runBounded("listen", ["model", "info"], seconds: 600)
        #expect(!timedOut && run.status == 0, "\(run.errors)")
        #expect(run.output.contains("lttw-street-vlm"))
    }
}
