import Foundation
import Testing

/// YAML that assistd's config reader took without a word or died on (found by the swift_yaml
/// fuzz target): the same refusal applies to --check-config, start-up and a SIGHUP reload, which
/// all read through `DaemonConfiguration.load`.
@Suite("assistd config keys")
struct AssistdConfigKeyTests {
    @Test("A key that is a list, a duplicate key or a merge key is refused with the line, exit 2, never a crash")
    func keys() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("yaml-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let cases = [
            ("[2 ]: \n", "line 1: a key must be a plain name, not a list or a section"),
            ("camera:\n  rate: 6\n  rate: 60\n", "line 3: the key rate appears twice (first at line 2); keep one"),
            ("camera:\n  <<: {rate: 6}\n", "line 2: merge keys (<<) are not allowed"),
        ]
        for (index, (text, message)) in cases.enumerated() {
            let path = folder.appendingPathComponent("\(index).yaml").path
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
            let run = try Programs.run("assistd", ["--config", path, "--check-config"])
            #expect(run.status == 2, "\(text): exit \(run.status) \(run.errors)")
            #expect(run.errors.contains("\(path): \(message)"), "\(text): \(run.errors)")
        }
    }
}
