import Foundation

/// A folder `listen` writes into (--overlay, --report), made before any work starts so that a
/// path that cannot be written costs nothing to find out, with the reason in words (Foundation
/// on Linux says only "NSCocoaErrorDomain error 512").
enum OutputFolder {
    struct Failure: Error, CustomStringConvertible {
        var path: String
        var reason: String
        var description: String { "\(path): cannot create the folder (\(reason))" }
    }

    /// Makes `path` and the folders above it that are missing, like `mkdir -p`.
    static func create(_ path: String) throws(Failure) {
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        var prefix = ""
        for part in absolute.split(separator: "/", omittingEmptySubsequences: true) {
            prefix += "/" + part
            var info = stat()
            if stat(prefix, &info) == 0 {
                guard (info.st_mode & S_IFMT) == S_IFDIR else {
                    throw Failure(path: path, reason: "\(prefix) is a file, not a folder")
                }
                continue
            }
            guard mkdir(prefix, 0o755) == 0 || errno == EEXIST else {
                throw Failure(path: path, reason: "\(prefix): \(String(cString: strerror(errno)))")
            }
        }
    }
}
