import ArgumentParser

@main
struct Listen: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "listen",
        abstract: "Describe street scenes in images and videos, for blind and low-vision pedestrians.",
        discussion: """
            listen runs the ListenToTheWorld pipeline over files: it reads images and videos \
            with OpenCV and reports what they hold. Every input is checked before decoding: \
            empty, truncated, corrupt and oversized files are reported by name and skipped, \
            and the run goes on with the rest.

            Examples:
              listen inspect samples/                 every image and video under samples/
              listen inspect street.jpg clip.mp4      one image and one video
              listen inspect --max-megapixels 100 huge.tiff
            """,
        subcommands: [Inspect.self]
    )
}
