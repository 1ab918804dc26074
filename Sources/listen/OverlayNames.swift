import Foundation

/// Where `--overlay` puts each input's picture: the input's name without its extension, then
/// `.overlay.png` (or `.overlay.avi` for a video), in the overlay folder. A name this run already
/// wrote or a file this run reads gets `-2`, `-3`, … before the suffix, so `a.jpg` and `a.png`
/// keep an overlay each and an overlay folder that is also an input folder loses no input.
struct OverlayNames {
    let folder: URL
    private var taken: Set<String>

    init(folder: String, inputs: [InputItem]) {
        self.folder = URL(fileURLWithPath: folder)
        taken = Set(inputs.map { item in
            switch item {
            case .image(let path), .video(let path): Self.key(URL(fileURLWithPath: path))
            }
        })
    }

    /// The overlay path for `input`, not given out before in this run.
    mutating func path(for input: String, suffix: String) -> String {
        let stem = URL(fileURLWithPath: input).deletingPathExtension().lastPathComponent
        var candidate = folder.appendingPathComponent(stem + suffix)
        var n = 2
        while taken.contains(Self.key(candidate)) {
            candidate = folder.appendingPathComponent("\(stem)-\(n)\(suffix)")
            n += 1
        }
        taken.insert(Self.key(candidate))
        return candidate.path
    }

    /// One spelling per file: `./a.png`, `a.png` and `dir/../a.png` are the same file.
    private static func key(_ url: URL) -> String {
        url.standardizedFileURL.resolvingSymlinksInPath().path
    }
}
