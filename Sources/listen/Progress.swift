import Foundation

/// A one-line progress bar on standard error, shown only when standard error is a terminal and
/// there are more than a few inputs or a video is being read; results still go to standard
/// output line by line.
final class Progress {
    private let total: Int
    private let label: String
    private let enabled: Bool
    private var done = 0
    private let started = Date()
    private let terminal = isatty(STDERR_FILENO) == 1
    /// Progress within the current input (a video's frames), shown after the bar.
    private var detail = ""

    init(total: Int, label: String) {
        self.total = total
        self.label = label
        enabled = total > 3 && terminal
        draw()
    }

    func advance() {
        done += 1
        draw()
    }

    /// Prints a result line without tearing the bar, control characters escaped (a file name
    /// with a newline must not forge a second result line).
    func print(_ line: String) {
        clearLine()
        Swift.print(DisplayName.escaped(line))
        fflush(nil)
        draw()
    }

    /// An error about one input on standard error (`printError`), without tearing the bar:
    /// standard output holds only results, so `--json` output stays one JSON document.
    func printInputError(_ message: String) {
        clearLine()
        printError(message)
        draw()
    }

    /// Clears the bar's line before a line of output, so the two do not tear each other.
    private func clearLine() {
        if enabled || !detail.isEmpty, terminal { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }

    /// Shows how far the current input has got ("walk.mp4 frame 120/900"); an empty string
    /// clears it. Drawn even for a single input, since one video can take minutes.
    func show(_ text: String) {
        guard terminal else { return }
        detail = text
        if enabled {
            draw()
        } else {
            FileHandle.standardError.write(Data("\r\u{1B}[K\(text)".utf8))
        }
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
        let text = String(format: "\r\u{1B}[K%@ [%@] %d/%d  %.1f/s  %@", label, bar, done, total, rate, detail)
        FileHandle.standardError.write(Data(text.utf8))
    }
}
