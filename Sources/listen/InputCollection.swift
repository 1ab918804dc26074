import Foundation

/// One file the CLI will work on.
enum InputItem: Equatable {
    case image(String)
    case video(String)
}

/// Expands the paths given on the command line into images and videos: files as they are,
/// folders recursively in sorted order. A path that does not exist, or a folder with nothing
/// usable in it, becomes a failure so the run can report it and go on.
struct InputCollection: Sequence {
    static let imageExtensions: Set<String> = ["jpg", "jpeg", "png", "bmp", "webp", "tif", "tiff"]
    static let videoExtensions: Set<String> = ["mp4", "avi", "mkv", "mov", "webm", "m4v", "mpg", "mpeg"]

    let paths: [String]

    func makeIterator() -> IndexingIterator<[Result<InputItem, Failure>]> {
        paths.flatMap(expand).makeIterator()
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    private func expand(_ path: String) -> [Result<InputItem, Failure>] {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
            return [.failure(Failure(description: "\(path): no such file or folder"))]
        }
        guard isFolder.boolValue else {
            return [.success(Self.classify(path) ?? .image(path))]
        }
        guard let walker = FileManager.default.enumerator(atPath: path) else {
            return [.failure(Failure(description: "\(path): cannot list the folder"))]
        }
        var found: [String] = []
        while let relative = walker.nextObject() as? String {
            found.append(relative)
        }
        let base = path.hasSuffix("/") ? String(path.dropLast()) : path
        let items = found.sorted().compactMap { Self.classify("\(base)/\($0)") }
        if items.isEmpty {
            return [.failure(Failure(description: "\(path): the folder holds no images or videos"))]
        }
        return items.map { .success($0) }
    }

    /// Decides by extension; nil for files that are neither (they are skipped inside folders).
    static func classify(_ path: String) -> InputItem? {
        guard let dot = path.lastIndex(of: "."), !path[dot...].contains("/") else { return nil }
        let ext = path[path.index(after: dot)...].lowercased()
        if imageExtensions.contains(ext) { return .image(path) }
        if videoExtensions.contains(ext) { return .video(path) }
        return nil
    }
}
