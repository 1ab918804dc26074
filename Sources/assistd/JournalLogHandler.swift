import Foundation
import Logging

/// Log lines that read well in the systemd journal and on a terminal: under systemd (where
/// `JOURNAL_STREAM` is set) each line starts with its syslog priority (`<4>`), which journald
/// turns into the entry's priority, and carries no timestamp of its own; on a terminal it starts
/// with the time and the level. Metadata follows as `key=value`.
struct JournalLogHandler: LogHandler {
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]
    private let label: String
    private let underJournal: Bool

    init(label: String, level: Logger.Level) {
        self.label = label
        logLevel = level
        underJournal = ProcessInfo.processInfo.environment["JOURNAL_STREAM"] != nil
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        let fields = merged.sorted { $0.key < $1.key }.map { "\($0.key)=\(Self.quoted("\($0.value)"))" }
        let text = ([event.message.description] + fields).joined(separator: " ")
        let line = underJournal
            ? "<\(Self.priority(event.level))>\(text)\n"
            : "\(Self.timestamp()) \(event.level.rawValue.uppercased()) \(text)\n"
        FileHandle.standardError.write(Data(line.utf8))
    }

    /// syslog priorities: 2 critical … 7 debug.
    static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    static func quoted(_ value: String) -> String {
        value.contains(where: { $0 == " " || $0 == "\"" }) ? "\"\(value.replacingOccurrences(of: "\"", with: "\\\""))\"" : value
    }

    static func timestamp() -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date())
    }
}
