#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A whole file mapped read-only into memory. The one place the loader makes POSIX calls; each
/// failure becomes an `ArtifactError` that carries `strerror(errno)`.
///
/// Mapping rather than reading means weights cost no copy and no private memory: pages come from
/// the page cache on first touch and are shared by every process (and stream) using the model.
/// The mapping is never written, so it is safe to read from any thread; hence `@unchecked
/// Sendable`. A file truncated by another process *after* mapping can still fault on access;
/// that cannot be guarded against from user space, only avoided by replacing model files with an
/// atomic rename (write elsewhere, then `rename(2)`) rather than overwriting them in place.
final class MappedFile: @unchecked Sendable {
    let path: String
    let bytes: UnsafeRawBufferPointer

    init(path: String) throws(ArtifactError) {
        self.path = path
        // O_NONBLOCK: a FIFO named model.safetensors must not stop the loader in open(2); the
        // fstat below then refuses it. It changes nothing for a regular file.
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        if fd < 0 {
            throw .cannotOpen(file: path, reason: MappedFile.errnoText())
        }
        defer { close(fd) }
        var info = stat()
        if fstat(fd, &info) != 0 {
            throw .cannotOpen(file: path, reason: MappedFile.errnoText())
        }
        if let kind = RegularFile.kindName(info.st_mode) {
            throw .notARegularFile(file: path, kind: kind)
        }
        let size = Int(info.st_size)
        if size == 0 {
            throw .emptyFile(file: path)
        }
        guard let base = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), base != MAP_FAILED else {
            throw .mapFailed(file: path, reason: MappedFile.errnoText())
        }
        bytes = UnsafeRawBufferPointer(start: base, count: size)
    }

    /// Lets the kernel drop this mapping's resident pages. Nothing is lost: the mapping is
    /// read-only and never written, so a page read again comes back from the page cache. Worth
    /// calling once a consumer has copied what it needs (the engine packs every weight matrix at
    /// load), so the process does not hold both copies. Advice only: a failure changes nothing.
    func releaseResidentPages() {
        _ = madvise(UnsafeMutableRawPointer(mutating: bytes.baseAddress), bytes.count, MADV_DONTNEED)
    }

    deinit {
        munmap(UnsafeMutableRawPointer(mutating: bytes.baseAddress), bytes.count)
    }

    private static func errnoText() -> String {
        String(cString: strerror(errno))
    }
}
