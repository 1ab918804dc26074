import ArgumentParser
import Foundation
import Kernels
import Pipeline

/// Options every model-running subcommand shares.
struct ModelOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Model folder (config.json, model.safetensors, tokenizer.json); default: $LTTW_MODEL, else ./models/default.", valueName: "dir"))
    var model: String?

    @Option(help: "Threads for the numeric kernels.")
    var threads: Int = 2

    func validate() throws {
        guard threads >= 1, threads <= 256 else { throw ValidationError("--threads must be between 1 and 256") }
    }

    var folder: URL { model.map { URL(fileURLWithPath: $0) } ?? StreetModel.defaultFolder }

    /// Loads the model, or exits with the loader's message (which names the file and problem).
    func load() throws -> StreetModel {
        KernelThreads.set(threads)
        do {
            return try StreetModel.load(folder: folder)
        } catch {
            printError("cannot load the model: \(error)")
            throw ExitCode(3)
        }
    }
}
