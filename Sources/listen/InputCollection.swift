import Foundation

/// One file the CLI will work on.
enum InputItem: Equatable {
    case image(String)
    case video(String)
}

/// Expands the paths given on the command line into images and videos: files as they are,
/// folders recursively in sorted order. A path that does not exist, a folder with nothing usable
/// in it, a subfolder that cannot be listed, a name that is not UTF-8 and a FIFO or device named
/// like a video become failures, so the run reports them and goes on.
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
        if path.unicodeScalars.contains("\u{FFFD}"), let raw = Self.rawArgument(decodingTo: path) {
            return [.failure(Self.notUTF8(DisplayName.of(bytes: raw)))]
        }
        var info = stat()
        guard stat(path, &info) == 0 else {
            let code = errno
            if code == ENOENT || code == ENOTDIR { return [.failure(Failure(description: "\(path): no such file or folder"))] }
            return [.failure(Failure(description: "\(path): cannot read it (\(String(cString: strerror(code))))"))]
        }
        if (info.st_mode & S_IFMT) != S_IFDIR {
            if let kind = Self.specialKind(info.st_mode) {
                return [.failure(Failure(description: "\(path): is not a regular file but \(kind)"))]
            }
            return [.success(Self.classify(path) ?? .image(path))]
        }
        let base = path.hasSuffix("/") && path.count > 1 ? String(path.dropLast()) : path
        var found: [(key: String, result: Result<InputItem, Failure>)] = []
        var visited: Set<FolderIdentity> = [FolderIdentity(info)]
        walk(Array(base.utf8), into: &found, visited: &visited)
        if found.isEmpty {
            return [.failure(Failure(description: "\(path): the folder holds no images or videos"))]
        }
        return found.sorted { $0.key < $1.key }.map(\.result)
    }

    /// Lists `folder` (raw bytes, as the kernel names it) and its subfolders: images and videos
    /// by extension, and a failure for every subfolder that cannot be listed, every name that is
    /// not UTF-8 and every image or video name that is not a regular file, so nothing is skipped
    /// without a word. A symbolic link to a folder is followed unless that folder was read
    /// already in this walk (a loop), which is reported.
    private func walk(
        _ folder: [UInt8], into found: inout [(key: String, result: Result<InputItem, Failure>)],
        visited: inout Set<FolderIdentity>
    ) {
        guard let directory = folder.withUnsafeBufferPointer({ buffer in
            (Array(buffer) + [0]).withUnsafeBufferPointer { opendir(UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: CChar.self)) }
        }) else {
            let reason = String(cString: strerror(errno))
            let name = DisplayName.of(bytes: folder)
            found.append((name, .failure(Failure(description: "\(name): cannot list the folder (\(reason)); its files are not read"))))
            return
        }
        defer { closedir(directory) }
        var children: [[UInt8]] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: &entry.pointee.d_name) { raw in Array(raw.prefix { $0 != 0 }) }
            if name == [0x2E] || name == [0x2E, 0x2E] { continue }
            children.append(folder + [0x2F] + name)
        }
        for child in children {
            var info = stat()
            let listed = (child + [0]).withUnsafeBufferPointer { lstat(UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: CChar.self), &info) }
            guard listed == 0 else { continue }
            var target = info
            if (info.st_mode & S_IFMT) == S_IFLNK,
                (child + [0]).withUnsafeBufferPointer({ stat(UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: CChar.self), &target) }) != 0 {
                target = info
            }
            let isFolder = (target.st_mode & S_IFMT) == S_IFDIR
            guard let path = String(validating: child, as: UTF8.self) else {
                if isFolder || Self.classify(DisplayName.of(bytes: child)) != nil {
                    let name = DisplayName.of(bytes: child)
                    found.append((name, .failure(Self.notUTF8(name))))
                }
                continue
            }
            if isFolder {
                guard visited.insert(FolderIdentity(target)).inserted else {
                    found.append((path, .failure(Failure(description:
                        "\(DisplayName.escaped(path)): links back to a folder already read; not followed again"))))
                    continue
                }
                walk(child, into: &found, visited: &visited)
                continue
            }
            guard let item = Self.classify(path) else { continue }
            if let kind = Self.specialKind(target.st_mode) {
                found.append((path, .failure(Failure(description: "\(DisplayName.escaped(path)): is not a regular file but \(kind)"))))
            } else {
                found.append((path, .success(item)))
            }
        }
    }

    /// A folder as the file system knows it, whatever path reached it: how a walk that follows
    /// symbolic links knows it has come round in a loop.
    struct FolderIdentity: Hashable {
        var device: UInt64
        var inode: UInt64

        init(_ info: stat) {
            device = UInt64(info.st_dev)
            inode = UInt64(info.st_ino)
        }
    }

    private static func notUTF8(_ shown: String) -> Failure {
        Failure(description: "\(shown): the file name is not valid UTF-8 (shown with \\x escapes); rename it to read it")
    }

    /// What a file that is neither regular nor a folder is, in words (nil for those two): a FIFO
    /// would block the decoder and has no size, so it is reported rather than called empty.
    static func specialKind(_ mode: mode_t) -> String? {
        switch mode & S_IFMT {
        case S_IFREG, S_IFDIR: nil
        case S_IFIFO: "a named pipe (FIFO)"
        case S_IFSOCK: "a socket"
        case S_IFCHR, S_IFBLK: "a device"
        case S_IFLNK: "a broken symbolic link"
        default: "a special file"
        }
    }

    /// The command-line argument whose bytes are not UTF-8 but read as `text` once Swift
    /// replaced the bad bytes with U+FFFD: the name to show the user instead of a "missing" file.
    static func rawArgument(decodingTo text: String) -> [UInt8]? {
        for index in 1..<Int(CommandLine.argc) {
            guard let pointer = CommandLine.unsafeArgv[index] else { continue }
            let raw = Array(UnsafeBufferPointer(start: UnsafeRawPointer(pointer).assumingMemoryBound(to: UInt8.self), count: strlen(pointer)))
            if String(validating: raw, as: UTF8.self) == nil, String(decoding: raw, as: UTF8.self) == text { return raw }
        }
        return nil
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
