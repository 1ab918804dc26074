import ArgumentParser

@main
struct Listen: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "listen",
        abstract: "Describe street scenes in images and videos, for blind and low-vision pedestrians.",
        discussion: """
            listen runs the ListenToTheWorld pipeline over files: the ViT encoder and perception \
            heads read the scene, the language decoder describes it. Every input is checked \
            before decoding: empty, truncated, corrupt and oversized files are reported by name \
            and skipped, and the run goes on with the rest.

            The model is the folder --model names, else the one the LTTW_MODEL environment \
            variable names, else ./models/default, else the models/default of the checkout \
            listen was built from.

            Videos, BMP, WebP and TIFF images and --overlay output go through libCVMedia.so \
            (OpenCV's codecs and video I/O), loaded on first use from listen's own folder, else \
            from the library search path; LTTW_MEDIA_LIBRARY=FILE names another copy. JPEGs and \
            PNGs need only listen itself.

            Examples:
              listen describe samples/                what each sample image shows
              listen describe --json street.jpg       the scene facts as JSON
              listen inspect clip.mp4                 size, rate and length of a video
              listen model info                       the shipped model's architecture
            """,
        subcommands: [Describe.self, Evaluate.self, Bench.self, Inspect.self, ModelCommand.self]
    )
}
