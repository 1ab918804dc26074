#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a small model file (config.json, tokenizer.json) could not be read. Each case names the
/// file, so the message can go to a user unchanged.
public enum RegularFileError: Error, Equatable, CustomStringConvertible {
    case missing(file: String)
    case cannotOpen(file: String, reason: String)
    /// The path is a FIFO, device, socket or folder: reading it could block forever or return
    /// endless bytes, so it is refused before any read.
    case notARegularFile(file: String, kind: String)
    case tooLarge(file: String, size: Int, limit: Int)
    case readFailed(file: String, reason: String)

    public var file: String {
        switch self {
        case .missing(let f), .cannotOpen(let f, _), .notARegularFile(let f, _), .tooLarge(let f, _, _), .readFailed(let f, _): f
        }
    }

    /// The problem without the file name, for errors that add the name themselves.
    public var reason: String {
        switch self {
        case .missing: "no such file"
        case .cannotOpen(_, let reason): "cannot open it (\(reason))"
        case .notARegularFile(_, let kind): "is a \(kind), not a regular file"
        case .tooLarge(_, let size, let limit): "\(size) bytes, over the \(limit)-byte limit for this file"
        case .readFailed(_, let reason): "read failed (\(reason))"
        }
    }

    public var description: String { "\(file): \(reason)" }
}

/// Reads whole files that must be regular files: the model folder's small JSON files.
///
/// `Data(contentsOf:)` opens with a blocking `open(2)`, so a FIFO named config.json stops the
/// program forever before any check runs, and a character device (`/dev/zero`) reads without
/// end. Here the file is opened with `O_NONBLOCK` (which makes `open` return at once for a FIFO
/// and has no effect on regular files), checked with `fstat` on the opened descriptor (no race
/// with a rename between check and open), and read only when it is a regular file within `limit`.
public enum RegularFile {
    /// The file's bytes; throws for anything but a regular file of at most `limit` bytes.
    public static func read(_ path: String, limit: Int) throws(RegularFileError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        if fd < 0 {
            let code = errno
            if code == ENOENT || code == ENOTDIR { throw .missing(file: path) }
            throw .cannotOpen(file: path, reason: String(cString: strerror(code)))
        }
        defer { close(fd) }
        let size = try regularSize(fd, path: path)
        if size > limit { throw .tooLarge(file: path, size: size, limit: limit) }
        var bytes = [UInt8](repeating: 0, count: size)
        var filled = 0
        while filled < size {
            let got = bytes.withUnsafeMutableBytes { posixRead(fd, $0.baseAddress! + filled, size - filled) }
            if got < 0 {
                if errno == EINTR { continue }
                throw .readFailed(file: path, reason: String(cString: strerror(errno)))
            }
            if got == 0 { break }
            filled += got
        }
        // A file that shrank while being read: use what was there, the parser reports the rest.
        return filled == size ? bytes : Array(bytes.prefix(filled))
    }

    /// The size of the regular file open on `fd`; throws for anything else.
    public static func regularSize(_ fd: Int32, path: String) throws(RegularFileError) -> Int {
        var info = stat()
        if fstat(fd, &info) != 0 {
            throw .cannotOpen(file: path, reason: String(cString: strerror(errno)))
        }
        if let kind = kindName(info.st_mode) { throw .notARegularFile(file: path, kind: kind) }
        return Int(info.st_size)
    }

    /// What a non-regular file is, in words; nil for a regular file.
    public static func kindName(_ mode: mode_t) -> String? {
        switch mode & S_IFMT {
        case S_IFREG: nil
        case S_IFDIR: "folder"
        case S_IFIFO: "named pipe (FIFO)"
        case S_IFCHR: "character device"
        case S_IFBLK: "block device"
        case S_IFSOCK: "socket"
        default: "special file"
        }
    }
}

/// `read(2)`, reachable from inside `RegularFile` (whose static `read` shadows the C function).
private func posixRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
    read(fd, buffer, count)
}
