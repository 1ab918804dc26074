// libFuzzer targets for the Swift parsers a model folder or a daemon config goes through. One
// file, compiled once per target with -D FUZZ_<TARGET> (scripts/fuzz_build.sh):
//   FUZZ_CONFIG       config.json → ModelConfiguration (strict JSON, ranges, labels, memory bound)
//   FUZZ_TOKENIZER    tokenizer.json → Tokenizer, then encode/decode with it
//   FUZZ_SAFETENSORS  model.safetensors → SafetensorsFile (header, layout), checkFinite, every tensor
//   FUZZ_STRICTJSON   any bytes → StrictJSON
//   FUZZ_YAML         assistd.yaml → DaemonConfiguration (size cap, aliases refused, keys, values)
// What must hold: no crash, no trap, no sanitizer report; refusals are thrown errors.
import Foundation
#if FUZZ_CONFIG || FUZZ_SAFETENSORS || FUZZ_STRICTJSON
import ModelArtifact
#endif
#if FUZZ_CONFIG
import Vision
#endif

/// A per-process scratch file for the parsers that read from a path (the safetensors reader
/// maps its file; the YAML reader checks the file type).
let scratchPath = "/dev/shm/lttw-fuzz-\(getpid())"

func withScratchFile(_ bytes: UnsafeRawBufferPointer, _ body: (String) -> Void) {
    let fd = open(scratchPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    guard fd >= 0 else { return }
    var written = 0
    while written < bytes.count {
        let n = write(fd, bytes.baseAddress! + written, bytes.count - written)
        if n <= 0 { break }
        written += n
    }
    close(fd)
    body(scratchPath)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    #if FUZZ_CONFIG
    if let configuration = try? ModelConfiguration(json: Array(bytes), path: "config.json") {
        // Everything the engine derives from an accepted configuration must be computable.
        _ = ConfigurationLimits.estimatedLoadBytes(configuration)
        _ = configuration.architecture.columnBands
        _ = configuration.headOrder
    }
    #elseif FUZZ_TOKENIZER
    if let tokenizer = try? Tokenizer(json: Array(bytes), path: "tokenizer.json") {
        for language in Language.allCases {
            let ids = tokenizer.encode("Red light. Crosswalk ahead, slightly left. 红灯", language: language)
            _ = tokenizer.decode(ids + [tokenizer.endID, Int32.max, -1], language: language)
        }
    }
    #elseif FUZZ_SAFETENSORS
    withScratchFile(bytes) { path in
        guard let file = try? SafetensorsFile(path: path, options: SafetensorsOptions(convertHalfPrecision: true)) else { return }
        try? file.checkFinite()
        var sum: Float = 0
        for name in file.names {
            guard let tensor = try? file.tensor(name) else { continue }
            for value in tensor.values { sum += value }
        }
        try? file.checkAllUsed([])
        if sum.isNaN { _ = file.names.count }
    }
    #elseif FUZZ_STRICTJSON
    _ = try? StrictJSON.parse(bytes)
    #elseif FUZZ_YAML
    withScratchFile(bytes) { path in
        _ = try? DaemonConfiguration.load(path: path)
    }
    #endif
    return 0
}
