import ArgumentParser
import Foundation
import Kernels
import Pipeline
import Vision

/// `listen model`: facts about model folders.
struct ModelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model",
        abstract: "Inspect model folders.",
        subcommands: [ModelInfo.self]
    )
}

/// `listen model info [DIR]`: what a model folder holds, checked the way the engine loads it.
struct ModelInfo: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Show a model's architecture, size, preprocessing, labels, languages and checksum.",
        discussion: """
            Loads the folder exactly as describe does (every tensor checked against config.json), \
            so a broken or mismatched model is reported here with the file and the problem.

            Examples:
              listen model info
              listen model info models/default
            """
    )

    @Argument(help: "Model folder (default: the shipped model).")
    var folder: String?

    func run() throws {
        let url = folder.map { URL(fileURLWithPath: $0) } ?? StreetModel.defaultFolder
        let model: StreetModel
        do {
            model = try StreetModel.load(folder: url)
        } catch {
            printError("cannot load the model: \(error)")
            throw ExitCode(3)
        }
        let c = model.configuration
        let a = c.architecture
        let weights = url.appendingPathComponent("model.safetensors")
        // The file a symbolic link names, not the link's own few bytes.
        let size = (try? FileManager.default.attributesOfItem(atPath: weights.resolvingSymlinksInPath().path)[.size] as? Int) ?? 0
        let digest = (try? FileDigest.sha256(of: weights.path)) ?? "unavailable"
        print("""
            model:          \(url.path) (\(c.modelType), format \(c.formatVersion))
            parameters:     \(c.params.map { String($0) } ?? "unknown")
            weights:        model.safetensors, \(String(format: "%.2f", Double(size) / 1_048_576)) MiB, sha256 \(digest)
            encoder:        ViT \(a.imageSize)×\(a.imageSize), patch \(a.patchSize) (\(a.patchCount) patches\(a.useCls ? " + class token" : "")), \
            width \(a.encWidth), depth \(a.encDepth), \(a.encHeads) heads, MLP \(a.encMlpWidth)
            projector:      \(a.pool)×\(a.pool) average pooling → \(a.visualTokens) visual tokens, MLP \(a.encWidth)→\(a.decWidth)
            decoder:        GPT-2 style, width \(a.decWidth), depth \(a.decDepth), \(a.decHeads) heads, \
            max \(a.decMaxLen) tokens, vocabulary \(a.vocabSize)\(a.tieLmHead ? " (output tied to embeddings)" : "")
            fusion:         \(fusionLine(c))
            preprocessing:  \(c.preprocessing.channelOrder), resize \(c.preprocessing.resize) to \(c.preprocessing.inputSize), \
            mean \(c.preprocessing.mean), std \(c.preprocessing.std)
            light states:   \(c.lightStates.joined(separator: ", ")) (green needs p ≥ \(c.thresholds.green))
            light kinds:    \(c.lightKinds.joined(separator: ", "))
            obstacles:      \(c.obstacleKinds.joined(separator: ", "))
            languages:      \(c.languages.joined(separator: ", "))
            engine:         matrix products on \(GEMMKernel.selected) kernels, chosen from the CPU's features
            openblas:       \(BLASCore.current.summary)
            """)
        if let se = c.signalExpert {
            let g = se.geometry
            let t = se.thresholds
            print("""
                signal expert:  gives the light; lamp candidates on the full frame (≤ \(se.proposals.maxBlobs) blobs, \
                the figures of the green ones among the first \(se.proposals.figureFrom ?? 0) at \(se.proposals.figureGrowth ?? 0)× their size, \
                the lamp figure around the most saturated green mass, the whole frame), \
                crops \(g.imageSize)×\(g.imageSize) read by a ViT (patch \(g.patchSize), width \(g.width), depth \(g.depth), \
                \(g.heads) heads) + geometry → MLP \(se.architecture.headHidden)
                signal classes: \(se.classes.joined(separator: ", "))
                signal rule:    green needs mass ≥ \(t.green)\(se.confirmsGreen ? " in \(viewsHeld(t)) (the strongest green, else the next that reads green)" : "") and no red lamp \
                ≥ \(t.redVeto) in view\(se.confirmsGreen ? " (in its own crop and half of its views)" : ""); signal from \(t.signal); \
                red/yellow need ≥ \(t.abstain); temperature \(se.temperature)\(verifierLine(se))
                known answers:  \((c.selfTest ?? []).map { "\($0.light) (\($0.file))" }.joined(separator: ", ")), checked at every load
                """)
        }
    }

    /// What the decoder attends to besides the scene's visual tokens.
    private func fusionLine(_ c: ModelConfiguration) -> String {
        guard let f = c.fusion else { return "none: the decoder attends to the \(c.architecture.visualTokens) visual tokens alone" }
        let a = f.architecture
        return "the decoder attends to \(c.decoderMemoryTokens) tokens: \(c.architecture.visualTokens) visual, the \(a.signalTokens) signal candidates "
            + "most likely a signal (embedding, geometry, classes), the crossing heads, \(a.obstacleSlots) obstacle slots"
    }

    /// Where a green must hold, as thresholds.view_misses says.
    private func viewsHeld(_ t: SignalExpertConfiguration.Thresholds) -> String {
        guard let misses = t.viewMisses, misses > 0 else { return "every confirmation view" }
        return "all but \(misses) of its confirmation views"
    }

    private func secondLook(_ t: SignalExpertConfiguration.Thresholds) -> String {
        guard let setAside = t.setAside else { return "" }
        return "\nsecond look:    a green-reading candidate the verifier gives < \(setAside) is set aside and the frame read again; a red or yellow behind it stands"
    }

    private func verifierLine(_ se: SignalExpertConfiguration) -> String {
        guard let v = se.greenVerifier, let verify = se.thresholds.verify else { return "" }
        let network: String
        switch v.network {
        case .patchReader(let a):
            let g = a.geometry
            network = "\(g.imageSize)×\(g.imageSize) (patch \(g.patchSize), width \(g.width), depth \(g.depth))"
        case .mobileNet(let a):
            network = "\(a.cropSize)×\(a.cropSize) (MobileNetV2's first \(a.trunkBlocks) layers, a \(a.gridSide)×\(a.gridSide) grid)"
        }
        return """

            green verifier: the walk candidate read again at \(network) in its own square and every confirmation view; \
            walk needs its smallest green ≥ \(verify)\(secondLook(se.thresholds))
            """
    }
}
