import Foundation
import Fusion
import Imaging
import Kernels
import Narrator
import Vision

/// A loaded model folder: configuration, tokenizer and weights, immutable and shared by every
/// stream (a camera, a file being described). Per-stream memory lives in `StreetModel.Stream`.
public final class StreetModel: Sendable {
    public let folder: URL
    public let configuration: ModelConfiguration
    public let tokenizer: Tokenizer
    public let encoder: PatchEncoder
    public let heads: PerceptionHeads
    public let projector: Projector
    public let decoder: CaptionDecoder
    /// Keeps the memory-mapped weights alive as long as the layers point into them.
    private let weightsOwner: any Sendable

    /// Builds the model from already-read parts; `weights` must stay valid while the model lives
    /// and is kept alive through `owner`.
    public init(
        folder: URL, configuration: ModelConfiguration, tokenizer: Tokenizer, weights: some WeightSource,
        owner: any Sendable
    ) throws {
        let a = configuration.architecture
        guard tokenizer.count == a.vocabSize else {
            throw ModelLoadError.mismatch(
                folder.appendingPathComponent("tokenizer.json").path,
                "\(tokenizer.count) tokens, but config.json says vocab_size \(a.vocabSize)")
        }
        self.folder = folder
        self.configuration = configuration
        self.tokenizer = tokenizer
        encoder = try PatchEncoder(weights, architecture: a)
        heads = try PerceptionHeads(weights, configuration: configuration)
        projector = try Projector(weights, architecture: a)
        decoder = try CaptionDecoder(weights, architecture: a)
        weightsOwner = owner
    }

    /// Everything one stream writes, allocated once: run frames through it one after another.
    public final class Stream {
        public let model: StreetModel
        public let input: Tensor
        public let encoder: PatchEncoder.State
        public let heads: PerceptionHeads.State
        public let projector: Projector.State
        public let decoder: CaptionDecoder.State
        let preprocessing: Preprocessing

        public init(_ model: StreetModel) {
            let c = model.configuration
            self.model = model
            preprocessing = c.imagePreprocessing
            input = Tensor(shape: [3, c.architecture.imageSize, c.architecture.imageSize])
            encoder = PatchEncoder.State(c.architecture)
            heads = PerceptionHeads.State(c)
            projector = Projector.State(c.architecture)
            decoder = CaptionDecoder.State(c.architecture)
        }

        /// Preprocesses `image` exactly as training did, into `input`.
        public func preprocess(_ image: Image) throws(ImagingError) {
            try preprocessing.write(image, into: input.storage)
        }

        /// Runs the encoder, the heads and the projector on `input`, and prepares the decoder's
        /// cross-attention for this frame.
        public func perceive() {
            model.encoder.encode(UnsafeBufferPointer(input.storage), state: encoder)
            let encoded = encoder.output.matrix.readOnly
            model.heads.run(encoded, state: heads)
            model.projector.project(encoded, state: projector)
            model.decoder.prepare(visualTokens: projector.visualTokens.matrix.readOnly, state: decoder)
        }

        /// Greedy decoding from <bos> <language>, as training/lttw/model.py's `generate`: the
        /// most likely token each step, until <eos> or the model's length limit. Calls
        /// `stepLogits` with each step's logits (for parity tests). Needs `perceive()` first.
        public func caption(
            _ language: Language, into tokens: inout [Int32], stepLogits: ((UnsafeBufferPointer<Float>) -> Void)? = nil
        ) {
            let decoder = model.decoder
            let tokenizer = model.tokenizer
            let maxLength = model.configuration.architecture.decMaxLen
            self.decoder.restartCaption()
            tokens.removeAll(keepingCapacity: true)
            decoder.feed(tokenizer.prompt(language), state: self.decoder)
            var position = 2
            while true {
                let logits = UnsafeBufferPointer(self.decoder.logits.storage)
                stepLogits?(logits)
                let next = Int32(Self.argmax(logits))
                tokens.append(next)
                if next == tokenizer.endID || position >= maxLength { break }
                decoder.feed(CollectionOfOne(next), state: self.decoder)
                position += 1
            }
        }

        /// The caption as text.
        public func caption(_ language: Language) -> String {
            var tokens: [Int32] = []
            tokens.reserveCapacity(model.configuration.architecture.decMaxLen)
            caption(language, into: &tokens)
            return model.tokenizer.decode(tokens, language: language)
        }

        /// The first index of the largest value, as torch.argmax picks.
        static func argmax(_ values: UnsafeBufferPointer<Float>) -> Int {
            var best = 0
            var bestValue = -Float.infinity
            for i in values.indices where values[i] > bestValue {
                best = i
                bestValue = values[i]
            }
            return best
        }
    }
}

/// A model folder that cannot be used, with the file and the reason.
public enum ModelLoadError: Error, Equatable, CustomStringConvertible {
    case notAFolder(String)
    case missingFile(String)
    case mismatch(String, String)
    case invalid(String, String)

    public var description: String {
        switch self {
        case .notAFolder(let path): "\(path): not a model folder (expected config.json, model.safetensors and tokenizer.json)"
        case .missingFile(let path): "\(path): missing from the model folder"
        case .mismatch(let path, let problem): "\(path): \(problem)"
        case .invalid(let path, let problem): "\(path): \(problem)"
        }
    }
}
