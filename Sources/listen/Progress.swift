import Foundation

/// A one-line progress bar on standard error, shown only when there are more than a few inputs
/// and standard error is a terminal; results still go to standard output line by line.
final class Progress {
    private let total: Int
    private let label: String
    private let enabled: Bool
    private var done = 0
    private let started = Date()

    init(total: Int, label: String) {
        self.total = total
        self.label = label
        enabled = total > 3 && isatty(STDERR_FILENO) == 1
        draw()
    }

    func advance() {
        done += 1
        draw()
    }

    /// Prints a result line without tearing the bar.
    func print(_ line: String) {
        if enabled { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        Swift.print(line)
        fflush(nil)
        draw()
    }

    func finish() {
        if enabled { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }

    private func draw() {
        guard enabled else { return }
        let width = 30
        let filled = total == 0 ? width : width * done / total
        let elapsed = Date().timeIntervalSince(started)
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        let text = String(format: "\r%@ [%@] %d/%d  %.1f/s", label, bar, done, total, rate)
        FileHandle.standardError.write(Data(text.utf8))
    }
}
