import ArgumentParser
import Foundation
import Imaging
import Kernels
import Narrator
import Pipeline

/// `listen bench`: the engine stage by stage, and the same model through PyTorch and ONNX Runtime
/// in the same run with the same threads, printed as ratios.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmark the engine against PyTorch and ONNX Runtime on the same model and threads.",
        discussion: """
            Runs the images (default: samples/) frame after frame through one stream, the way the \
            daemon does, and prints p50/p95 per stage: preprocess, encoder, heads, projector (with \
            the decoder's cross-attention keys and values, for a model without expert fusion), the \
            signal and obstacle experts as the frame reads them (together, sharing the threads), \
            the experts' fusion (their tokens joined to the scene's, and the decoder's \
            cross-attention keys and values on them), decoder per token and caption, each stage \
            timed on its own; then the frame as the product reads it, its read (`readFrame`: with \
            two threads, one runs preprocessing and the scene model while the other proposes the \
            lamps and reads the obstacle expert, then both read the lamp crops) and the whole \
            frame with its caption, timed on their own pass (so the stage rows do not add up to \
            it); also each \
            expert alone and, with --beams N, a beam-search caption per frame (run after the \
            frame, not counted in it; the allocation count covers them too). \
            Then which kernel ran the matrix products (chosen from the CPU's features), \
            the single-precision FMA peak per thread measured with a register-only loop on that \
            kernel's vectors, the encoder's achieved GFLOP/s as a share of that peak, OpenBLAS's \
            sgemm on a 1024³ product beside it (labelled with the core OpenBLAS chose, and a \
            warning when that core is below what the CPU can run), peak RSS, and heap allocations \
            per frame (counted by preloading libAllocationCounter.so from the build folder; build \
            it with `swift build -c release`).

            The peers run through training/lttw/bench.py in the project's Python environment: \
            PyTorch in inference mode, and ONNX Runtime with all graph optimisations and the \
            decoder exported with past key/values. Ratios are peer time / our time: above 1 means \
            we are faster. Absolute times on shared machines are noisy; ratios from one run are not.

            With --baseline DIR, the frames of another model folder (v1 from git history, say) \
            are timed too, in blocks of 8 alternating with this model's (each block's first frame \
            warms its model's caches and is not counted), and the ratio of the two frames' p50 is \
            printed: the fair way to compare two models on a machine whose speed drifts. Under it, \
            the ratio block by block (each block's median frame over the baseline block beside \
            it, on the same images): its quartiles say how steady the ratio was in this run. The \
            baseline's captions are decoded free, as a model from before the caption \
            constraint shipped; this model's are held to its facts, as the product decodes.

            Examples:
              swift build -c release && .build/release/listen bench
              listen bench --threads 1 --frames 100
              listen bench --no-peers --json
              listen bench --beams 3
              mkdir -p .build/v1 && git archive c638caf models/default | tar -x -C .build/v1
              listen bench --no-peers --baseline .build/v1/models/default
            """
    )

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: "Images to run (files or folders).")
    var images: [String] = ["samples"]

    @Option(help: "Frames to measure.")
    var frames: Int = 40

    @Option(help: "Frames to run before measuring.")
    var warmup: Int = 5

    @Option(help: "Caption language: en or zh.")
    var lang: String = "en"

    @Option(help: "Also decode every frame's caption by beam search of this width and time it (1: greedy only).")
    var beams: Int = 1

    @Flag(inversion: .prefixedNo, help: "Also run PyTorch and ONNX Runtime on the same model.")
    var peers = true

    @Option(help: "Python with the training requirements, for the peers.")
    var python: String = ".venv/bin/python"

    @Option(help: ArgumentHelp("Also time this model folder's frames, interleaved with the model's, and print the ratio.", valueName: "dir"))
    var baseline: String?

    @Flag(help: "Print the figures as one JSON object.")
    var json = false

    func validate() throws {
        guard frames >= 5 else { throw ValidationError("--frames must be at least 5") }
        guard warmup >= 0 else { throw ValidationError("--warmup must not be negative") }
        guard Language(rawValue: lang) != nil else { throw ValidationError("--lang must be en or zh") }
        guard beams >= 1, beams <= 16 else { throw ValidationError("--beams must be between 1 and 16") }
    }

    func run() throws {
        try preloadAllocationCounter()
        let model = try modelOptions.load()
        var decoded: [Image] = []
        for case .success(.image(let path)) in InputCollection(paths: images) {
            do { decoded.append(try Image.decode(file: path)) } catch { printError("\(error)") }
        }
        guard !decoded.isEmpty else {
            printError("no images to benchmark under \(images.joined(separator: ", "))")
            throw ExitCode.failure
        }
        let benchmark = EngineBenchmark(
            model: model, frames: frames, warmup: warmup, language: Language(rawValue: lang)!, beamWidth: beams)
        let progress = Progress(total: frames + warmup, label: "swift")
        let ours = try benchmark.run(images: decoded) { _ in progress.advance() }
        progress.finish()
        var comparison: (folder: String, result: EngineBenchmark.Comparison)?
        if let baseline {
            let other: StreetModel
            do {
                other = try StreetModel.load(folder: URL(fileURLWithPath: baseline))
            } catch {
                printError("--baseline \(baseline): \(error)")
                throw ExitCode.failure
            }
            comparison = (baseline, try benchmark.compare(with: other, images: decoded))
        }
        let peerFigures = peers ? runPeers() : nil
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            var object = try JSONSerialization.jsonObject(with: encoder.encode(ours)) as! [String: Any]
            object["threads"] = modelOptions.threads
            object["peers"] = peerFigures?.raw
            if let comparison {
                object["baseline"] = [
                    "model": comparison.folder, "frame_p50": comparison.result.frame.p50,
                    "baseline_frame_p50": comparison.result.baselineFrame.p50, "ratio": comparison.result.ratio,
                    "frames": comparison.result.frame.n, "block_ratios": comparison.result.blockRatios,
                ] as [String: Any]
            }
            print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
        } else {
            print(report(ours, peers: peerFigures, model: model))
            if let comparison {
                let c = comparison.result
                let q = c.blockRatioQuartiles
                print(String(
                    format: "against %@: frame p50 %.3f ms, its frame %.3f ms: %.2f× (%d frames each, in alternating blocks)",
                    comparison.folder, c.frame.p50, c.baselineFrame.p50, c.ratio, c.frame.n))
                print(String(
                    format: "  block by block (each block's median over the baseline block beside it, %d pairs): median %.2f×, quartiles %.2f–%.2f×",
                    c.blockRatios.count, q.median, q.low, q.high))
            }
        }
    }

    /// Restarts this command with libAllocationCounter.so preloaded, when it was built and is not
    /// loaded yet, so allocations can be counted.
    private func preloadAllocationCounter() throws {
        let environment = ProcessInfo.processInfo.environment
        guard environment["LTTW_BENCH_PRELOADED"] == nil else { return }
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        let library = executable.deletingLastPathComponent().appendingPathComponent("libAllocationCounter.so")
        guard FileManager.default.fileExists(atPath: library.path) else { return }
        let process = Process()
        process.executableURL = executable
        process.arguments = Array(CommandLine.arguments.dropFirst())
        var childEnvironment = environment
        childEnvironment["LD_PRELOAD"] = library.path
        childEnvironment["LTTW_BENCH_PRELOADED"] = "1"
        process.environment = childEnvironment
        try process.run()
        process.waitUntilExit()
        throw ExitCode(process.terminationStatus)
    }

    struct PeerFigures {
        var raw: [String: Any]
        func p50(_ runtime: String, _ stage: String) -> Double? {
            ((raw[runtime] as? [String: Any])?[stage] as? [String: Any])?["p50"] as? Double
        }
    }

    private func runPeers() -> PeerFigures? {
        guard FileManager.default.isExecutableFile(atPath: python) else {
            printError("peers skipped: \(python) not found (run scripts/setup.sh, or pass --python)")
            return nil
        }
        FileHandle.standardError.write(Data("listen: running PyTorch and ONNX Runtime on the same model...\n".utf8))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-m", "lttw.bench", "--model", modelOptions.folder.path, "--threads", String(modelOptions.threads),
                             "--frames", String(frames), "--warmup", String(warmup), "--lang", lang, "--beams", String(beams),
                             "--json", "--images"] + images
        var environment = ProcessInfo.processInfo.environment
        environment["PYTHONPATH"] = "training"
        environment.removeValue(forKey: "LD_PRELOAD")
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        do { try process.run() } catch {
            printError("peers skipped: cannot start \(python): \(error)")
            return nil
        }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0,
              let line = String(decoding: data, as: UTF8.self).split(separator: "\n").last,
              let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        else {
            printError("peers failed (exit \(process.terminationStatus)); see the Python output above")
            return nil
        }
        return PeerFigures(raw: object)
    }

    private func report(_ ours: EngineBenchmark.Result, peers: PeerFigures?, model: StreetModel) -> String {
        func f(_ value: Double?) -> String { value.map { String(format: "%9.3f", $0) } ?? "        -" }
        func ratio(_ peer: Double?, _ mine: Double) -> String {
            peer.map { String(format: "%6.2fx", $0 / mine) } ?? "      -"
        }
        let s = ours.stages
        let encoderBlock = s["encoder"]!.p50 + s["heads"]!.p50 + s["projector"]!.p50
        var lines: [String] = []
        lines.append("listen bench: \(model.folder.path), \(modelOptions.threads) thread(s), \(frames) frames (+\(warmup) warm-up), \(cpuName())")
        lines.append("times in ms; ratio = peer p50 / swift p50 (above 1: swift is faster)")
        lines.append("stage                      swift p50  swift p95   pytorch    onnxrt   vs torch  vs onnxrt")
        func row(_ name: String, _ stage: String, torch: String?, ort: String?, mine: Double? = nil, p95: Double? = nil) {
            let p50 = mine ?? s[stage]!.p50
            let torchValue = torch.flatMap { peers?.p50("pytorch", $0) }
            let ortValue = ort.flatMap { peers?.p50("onnxruntime", $0) }
            lines.append("\(name.padding(toLength: 25, withPad: " ", startingAt: 0)) \(f(p50))  \(f(p95 ?? s[stage]?.p95)) \(f(torchValue)) \(f(ortValue))   \(ratio(torchValue, p50))   \(ratio(ortValue, p50))")
        }
        row("preprocess", "preprocess", torch: "preprocess", ort: "preprocess")
        row("encoder", "encoder", torch: "encoder", ort: nil)
        row("heads", "heads", torch: "heads", ort: nil)
        row("projector + cross k/v", "projector", torch: "projector", ort: nil)
        let torchBlock = peers.flatMap { p in
            [p.p50("pytorch", "encoder"), p.p50("pytorch", "heads"), p.p50("pytorch", "projector")]
                .reduce(Optional(0.0)) { total, value in total.flatMap { t in value.map { t + $0 } } }
        }
        let ortBlock = peers?.p50("onnxruntime", "encoder_heads_projector")
        lines.append("\("encoder+heads+projector".padding(toLength: 25, withPad: " ", startingAt: 0)) \(f(encoderBlock))          - \(f(torchBlock)) \(f(ortBlock))   \(ratio(torchBlock, encoderBlock))   \(ratio(ortBlock, encoderBlock))")
        if s["signal"] != nil {
            // The peers propose lamps in numpy (the Python reference, not a fast peer) and read
            // the candidates' crops in one batch; their reading alone is `signal_reader`.
            row("signal expert", "signal", torch: "signal", ort: "signal")
            let torchReader = peers?.p50("pytorch", "signal_reader")
            let ortReader = peers?.p50("onnxruntime", "signal_reader")
            lines.append("\("  peers: crop read only".padding(toLength: 25, withPad: " ", startingAt: 0))         -          - \(f(torchReader)) \(f(ortReader))")
        }
        if s["obstacles"] != nil {
            row("obstacle expert", "obstacles", torch: "obstacles", ort: "obstacles")
        }
        if s["signal"] != nil, s["obstacles"] != nil, let experts = s["experts"] {
            // Both experts sharing the lanes (ExpertReading, `readExperts`); the two rows above are
            // each expert alone. The peers read them one after the other.
            let torchBoth = peers.flatMap { p in p.p50("pytorch", "signal").flatMap { a in p.p50("pytorch", "obstacles").map { a + $0 } } }
            let ortBoth = peers.flatMap { p in p.p50("onnxruntime", "signal").flatMap { a in p.p50("onnxruntime", "obstacles").map { a + $0 } } }
            lines.append("\("both experts (together)".padding(toLength: 25, withPad: " ", startingAt: 0)) \(f(experts.p50))  \(f(experts.p95)) \(f(torchBoth)) \(f(ortBoth))   \(ratio(torchBoth, experts.p50))   \(ratio(ortBoth, experts.p50))")
        }
        if s["read"] != nil {
            // What the frame runs before its caption (`readFrame`): with two lanes, preprocessing
            // and the scene model on one beside the experts on the other, in one dispatch; the rows
            // above are those passes one after another. No peer runs it this way.
            row("frame read (readFrame)", "read", torch: nil, ort: nil)
        }
        if s["fusion"] != nil {
            // The experts' reads projected into the decoder's memory and its cross-attention keys
            // and values (the row "projector + cross k/v" is then the projector alone).
            row("expert fusion + cross k/v", "fusion", torch: "fusion", ort: "fusion")
        }
        row("decoder per token", "decoder_token", torch: "decoder_token", ort: "decoder_token")
        row("caption (greedy)", "caption", torch: "caption", ort: "caption")
        if let width = ours.beamWidth {
            row("caption (beam \(width))", "caption_beam", torch: "caption_beam", ort: nil)
        }
        row("frame, end to end", "frame", torch: "frame", ort: "frame")
        lines.append(String(format: "tokens per caption: %.1f", ours.tokensPerCaption)
            + (ours.tokensPerBeamCaption.map { String(format: " (beam: %.1f)", $0) } ?? ""))
        let threads = ours.threads
        let peak = ours.fmaPeakGflopsPerThread * Double(threads)
        let kernel = GEMMKernel(rawValue: ours.kernel).map(\.description) ?? ours.kernel
        lines.append("matrix products: \(kernel) kernels (chosen from the CPU's features)")
        lines.append(String(format: "FMA peak: %.1f GFLOP/s per thread × %d = %.1f GFLOP/s", ours.fmaPeakGflopsPerThread, threads, peak))
        lines.append(String(format: "encoder: %.2f GFLOP in %.3f ms = %.1f GFLOP/s = %.0f%% of the FMA peak",
                            ours.encoderFlops / 1e9, s["encoder"]!.p50, ours.encoderGflops, 100 * ours.encoderShareOfPeak))
        lines.append("OpenBLAS sgemm 1024³ (core \(ours.blasCore), reference only): "
            + String(format: "%.1f GFLOP/s = %.0f%% of the FMA peak", ours.sgemmPeakGflops, 100 * ours.sgemmPeakGflops / peak))
        if ours.blasCoreMismatch { lines.append("warning: \(BLASCore.current.summary)") }
        lines.append(String(format: "peak RSS: %.1f MiB", ours.peakResidentMiB))
        lines.append(ours.allocationsPerFrame.map { String(format: "heap allocations per frame (steady state): %.1f", $0) }
            ?? "heap allocations per frame: not counted (libAllocationCounter.so not found next to listen)")
        return lines.joined(separator: "\n")
    }

    private func cpuName() -> String {
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = info.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
              let name = line.split(separator: ":", maxSplits: 1).last
        else { return "unknown CPU" }
        return name.trimmingCharacters(in: .whitespaces)
    }
}
